// The offline docs site's behaviour (tools/build_site.py): click-to-zoom figures, the sidebar toggle on narrow
// screens, and full-text search over search.json with lunr (vendored in site_libs/lunr, MIT). Plain JS, no network.
(function () {
  'use strict';

  // ------------------------------------------------------------------ lightbox: a figure at full resolution
  function openLightbox(href, alt) {
    closeLightbox();
    var box = document.createElement('div');
    box.id = 'lightbox'; box.className = 'lightbox'; box.setAttribute('role', 'dialog');
    box.setAttribute('aria-label', 'figure at full size (click or Esc to close)');
    var img = document.createElement('img');
    img.src = href; img.alt = alt || '';
    var hint = document.createElement('div');
    hint.className = 'lightbox-hint'; hint.textContent = 'full size: scroll to pan; click or Esc to close';
    box.appendChild(img); box.appendChild(hint);
    box.addEventListener('click', closeLightbox);
    document.body.appendChild(box);
    document.body.classList.add('lightbox-open');
  }
  function closeLightbox() {
    var box = document.getElementById('lightbox');
    if (box) box.remove();
    document.body.classList.remove('lightbox-open');
  }

  // ------------------------------------------------------------------ search
  var index = null, docs = null, loading = null;
  function siteRoot() {
    var s = document.querySelector('script[src$="site_libs/site.js"]');
    return s ? s.getAttribute('src').replace(/site_libs\/site\.js$/, '') : '';
  }
  function loadIndex() {
    if (loading) return loading;
    loading = fetch(siteRoot() + 'search.json').then(function (r) { return r.json(); }).then(function (data) {
      docs = {};
      data.forEach(function (d) { docs[d.id] = d; });
      index = lunr(function () {
        this.ref('id'); this.field('title', {boost: 5}); this.field('section', {boost: 3}); this.field('text');
        this.metadataWhitelist = ['position'];
        var b = this;
        data.forEach(function (d) { b.add(d); });
      });
      return index;
    });
    return loading;
  }
  function snippet(text, words) {
    var low = text.toLowerCase(), at = -1;
    for (var i = 0; i < words.length && at < 0; i++) at = low.indexOf(words[i].toLowerCase());
    var s = Math.max(0, at - 60);
    return (s > 0 ? '… ' : '') + text.slice(s, s + 180) + (s + 180 < text.length ? ' …' : '');
  }
  function search(q) {
    return loadIndex().then(function (idx) {
      q = q.trim();
      if (!q) return [];
      var words = q.split(/\s+/).filter(Boolean);
      var hits;
      try { hits = idx.search(words.map(function (w) { return '+' + w.replace(/[:~^+\-*]/g, '') + '*'; }).join(' ')); }
      catch (e) { hits = []; }
      if (!hits.length) { try { hits = idx.search(q.replace(/[:~^+\-*]/g, ' ')); } catch (e) { hits = []; } }
      return hits.slice(0, 12).map(function (h) {
        var d = docs[h.ref];
        return {href: siteRoot() + d.href, page: d.title, section: d.section, text: snippet(d.text, words)};
      });
    });
  }
  function showResults(list, box) {
    box.innerHTML = '';
    if (!list.length) { box.innerHTML = '<div class="search-none">no match</div>'; box.hidden = false; return; }
    list.forEach(function (r) {
      var a = document.createElement('a');
      a.className = 'search-hit'; a.href = r.href;
      var t = document.createElement('div'); t.className = 'search-hit-title';
      t.textContent = r.page + (r.section && r.section !== r.page ? ' › ' + r.section : '');
      var s = document.createElement('div'); s.className = 'search-hit-text'; s.textContent = r.text;
      a.appendChild(t); a.appendChild(s); box.appendChild(a);
    });
    box.hidden = false;
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('a.lightbox-link').forEach(function (a) {
      a.addEventListener('click', function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey) return;          // open in a new tab as usual
        e.preventDefault();
        var img = a.querySelector('img');
        openLightbox(a.getAttribute('href'), img ? img.alt : '');
      });
    });
    document.addEventListener('keydown', function (e) { if (e.key === 'Escape') closeLightbox(); });

    var toggle = document.getElementById('sidebar-toggle');
    if (toggle) toggle.addEventListener('click', function () {
      var open = document.body.classList.toggle('sidebar-open');
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });

    var input = document.getElementById('search-input'), box = document.getElementById('search-results');
    if (input && box) {
      var timer = null;
      input.addEventListener('input', function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          if (!input.value.trim()) { box.hidden = true; return; }
          search(input.value).then(function (r) { showResults(r, box); });
        }, 120);
      });
      input.addEventListener('keydown', function (e) {
        if (e.key === 'Enter') { var first = box.querySelector('a'); if (first) window.location.href = first.href; }
      });
      document.addEventListener('click', function (e) { if (!box.contains(e.target) && e.target !== input) box.hidden = true; });
    }
  });

  window.siteSearch = search;     // used by tests/test_site.py
})();
