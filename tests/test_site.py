"""The docs website: build it with `tools/build_site.py` and check every page in headless Chromium.

Chromium (Debian's `chromium`, installed by `tools/install_site_deps.sh`) is driven through the DevTools
protocol over `--remote-debugging-pipe` (JSON messages on file descriptors 3 and 4, no websocket, no
extra Python package): every page is loaded from a local HTTP server on 127.0.0.1 and must show no console
error, no failed request, typeset math (KaTeX elements, no raw `$$`/`\\mathcal`/KaTeX error left in the
visible text), images that loaded, and links that resolve. What a reader meets is checked too: no Markdown
table left as raw `| a | b |` text; every figure at >= 60 % of its natural width or zoomable (and the zoom
opens it at full size); no text block cut off at the right edge (at 1400 px and at phone width, where the
sidebar collapses behind a toggle); previous/next links; offline search that finds a chapter from a word; no
narration of how the work went and no machine paths; and the latent explorer of chapter 24, whose image for a
fixed z equals the PyTorch decoder's within the exporter's tolerance and follows a drag. Screenshots (home page,
Figure 2, Figure 2 zoomed, Figures 4-5 with the explorer, a chapter at phone width) go to `$SITE_ARTIFACTS`
(default `_site_artifacts/`). Without Chromium the browser tests skip locally and FAIL in CI (`CI=true`). The
other tests check that this build and the Quarto build (`nbdev_docs`, driven by `nbs/_quarto.yml`) read the same
notebooks in the same order with the same titles, and that the explorer's exported decoder matches PyTorch.
"""
import base64, functools, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.parse, urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
import build_site  # noqa: E402

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--disable-extensions', '--mute-audio', '--hide-scrollbars', '--remote-debugging-pipe']


def _chromium():
    for name in (os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome'):
        if name and shutil.which(name): return shutil.which(name)


def _need(msg):
    "A missing system package (tools/install_site_deps.sh): skip locally, fail in CI."
    if os.environ.get('CI', '').lower() in ('true', '1', 'yes'): pytest.fail(msg + ' [CI=true: the site tests are required]')
    pytest.skip(msg)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    try: build_site.find_katex()
    except SystemExit as e: _need(str(e))
    out = tmp_path_factory.mktemp('site') / '_site'
    t = time.time()
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'build_site.py'), '--out', str(out), '--timeout', '110'],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f'tools/build_site.py failed:\n{r.stdout}\n{r.stderr}'
    secs = time.time() - t
    assert secs < 120, f'site build took {secs:.0f}s (budget: 2 minutes)'
    return out


# --------------------------------------------------------------------------------- same source as Quarto
def test_every_notebook_has_a_page_in_order(site):
    nbs = build_site.notebooks()
    names = sorted(p.name for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    test_names = [p.name for p in nbs]
    assert test_names[0] == 'index.ipynb', 'index.ipynb is the home page'
    assert test_names[1:] == [n for n in names if n != 'index.ipynb'], 'sidebar order = sorted notebook order'
    manifest = json.loads((site / 'site.json').read_text())['pages']
    assert [m['notebook'] for m in manifest] == test_names
    for m in manifest:
        assert (site / m['page']).exists(), f"no page for {m['notebook']}"
        src = json.loads((ROOT / 'nbs' / m['notebook']).read_text(encoding='utf-8'))
        first = next(''.join(c['source']) for c in src['cells'] if c['cell_type'] == 'markdown')
        title = re.search(r'^#\s+(.+)$', first, re.M)
        assert title, f"{m['notebook']}: the first markdown cell must start with `# Title` (nbdev frontmatter)"
        assert m['title'] == title.group(1).strip(), f"{m['notebook']}: page title differs from its `# Title`"
    html = (site / 'index.html').read_text()
    sidebar = re.findall(r'<a href="([^"]+)" class="sidebar-link[^"]*" data-notebook="([^"]+)"', html)
    assert [n for _, n in sidebar] == test_names
    assert [h for h, _ in sidebar] == [m['page'] for m in manifest]


def test_quarto_config_uses_the_same_sidebar():
    "nbdev_docs builds Quarto's sidebar with `nbdev_sidebar` over the same notebooks, in the same order."
    import yaml
    from nbdev.config import get_config
    q = yaml.safe_load((ROOT / 'nbs' / '_quarto.yml').read_text())
    assert q['project']['type'] == 'website'
    assert 'sidebar.yml' in q['metadata-files'] and 'nbdev.yml' in q['metadata-files']
    assert q['format']['html'].get('html-math-method') in ('katex', 'mathjax')
    assert 'styles.css' in str(q['format']['html'].get('css'))
    assert not get_config(path=ROOT).custom_sidebar, 'custom_sidebar=False: nbdev_docs regenerates sidebar.yml'
    from nbdev.quarto import nbdev_sidebar
    import contextlib, io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): nbdev_sidebar.__wrapped__(path=str(ROOT / 'nbs'), printit=True, force=True)
    contents = yaml.safe_load(buf.getvalue())['website']['sidebar']['contents']
    quarto_nbs = [c for c in contents if isinstance(c, str) and c.endswith('.ipynb')]
    assert quarto_nbs == [p.name for p in build_site.notebooks()], 'Quarto sidebar order != build_site order'
    ny = yaml.safe_load((ROOT / 'nbs' / 'nbdev.yml').read_text())
    cfg = get_config(path=ROOT)
    assert ny['website']['title'] == cfg.title and ny['website']['description'] == cfg.description
    assert ny['website']['site-url'] == cfg.doc_host + cfg.doc_baseurl and ny['website']['repo-url'] == cfg.git_url
    assert ny['project']['output-dir'] == '_docs'
    from nbdev.quarto import _nbdev_yml  # what nbdev_docs (refresh_quarto_yml) rewrites nbs/nbdev.yml to
    vals = {k: cfg[k] for k in ['title', 'description', 'branch', 'git_url', 'doc_host', 'doc_baseurl']}
    assert (ROOT / 'nbs' / 'nbdev.yml').read_text() == _nbdev_yml.format(doc_path=cfg.doc_path.name, **vals), \
        'nbs/nbdev.yml is out of date with settings.ini'


def test_no_cdn_and_offline_math(site):
    for page in site.glob('*.html'):
        text = page.read_text()
        assert not re.search(r'(src|href)="(https?:)?//[^"]*(cdn|jsdelivr|unpkg|googleapis|mathjax)', text), page.name
        assert 'site_libs/katex/katex.min.js' in text
    assert (site / 'site_libs' / 'katex' / 'katex.min.js').stat().st_size > 100_000
    assert list((site / 'site_libs' / 'katex' / 'fonts').glob('*.woff2'))


def test_outputs_kept_by_nbdev_clean():
    "settings.ini keeps outputs (clear_all=False), so the committed notebooks carry the site's figures."
    from nbdev.config import get_config
    assert not get_config(path=ROOT).clear_all


# --------------------------------------------------------------------------------- DevTools over a pipe
class Chromium:
    "Minimal Chrome DevTools Protocol client over --remote-debugging-pipe (NUL-separated JSON on fds 3/4)."
    def __init__(self, exe, user_data_dir):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        def _fds():  # in the child: its fd 3 reads our commands, its fd 4 writes replies
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3); os.dup2(b, 4)
        self.proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f'--user-data-dir={user_data_dir}', 'about:blank'],
                                     preexec_fn=_fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_chrome_r); os.close(from_chrome_w)
        self._buf, self._id, self.events = b'', 0, []
        self._replies, self._lock = {}, threading.Lock()
        self._cv = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try: chunk = os.read(self._r, 1 << 20)
            except OSError: chunk = b''
            with self._cv:
                if not chunk: self._replies[None] = 'closed'; self._cv.notify_all(); return
                self._buf += chunk
                while b'\0' in self._buf:
                    msg, self._buf = self._buf.split(b'\0', 1)
                    m = json.loads(msg)
                    if 'id' in m: self._replies[m['id']] = m
                    else: self.events.append(m)
                self._cv.notify_all()

    def send(self, method, params=None, session=None, timeout=30):
        with self._lock: self._id += 1; i = self._id
        msg = {'id': i, 'method': method, 'params': params or {}}
        if session: msg['sessionId'] = session
        os.write(self._w, json.dumps(msg).encode() + b'\0')
        with self._cv:
            ok = self._cv.wait_for(lambda: i in self._replies or None in self._replies, timeout)
            if not ok or i not in self._replies:
                err = self.proc.stderr.read1(20000).decode(errors='replace') if self.proc.poll() is not None else ''
                raise RuntimeError(f'chromium did not answer {method} ({"exited" if None in self._replies else "timeout"}) {err}')
            r = self._replies.pop(i)
        if 'error' in r: raise RuntimeError(f'{method}: {r["error"]}')
        return r.get('result', {})

    def wait_event(self, method, session, timeout=30):
        end = time.time() + timeout
        with self._cv:
            while time.time() < end:
                for e in self.events:
                    if e.get('method') == method and e.get('sessionId') == session: return e
                self._cv.wait(0.1)
        raise TimeoutError(method)

    def close(self):
        try: self.send('Browser.close', timeout=5)
        except Exception: pass
        try: self.proc.wait(10)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        for fd in (self._w, self._r):
            try: os.close(fd)
            except OSError: pass


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


@pytest.fixture(scope='module')
def server(site):
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown(); httpd.server_close()


@pytest.fixture(scope='module')
def browser():
    exe = _chromium()
    if not exe: _need('Chromium not found: run `bash tools/install_site_deps.sh` (Debian package chromium)')
    with tempfile.TemporaryDirectory(prefix='chromium-profile-') as d:
        b = Chromium(exe, d)
        try: yield b
        finally: b.close()


CHECK_JS = r"""(() => {
  const main = document.querySelector('main');
  const clone = main.cloneNode(true);
  clone.querySelectorAll('pre, code, .katex, script, style').forEach(e => e.remove());
  const text = clone.innerText || clone.textContent;
  const imgs = [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0,
    alt: i.getAttribute('alt'), natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
    zoomable: !!i.closest('a.lightbox-link')}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const sidebar = [...document.querySelectorAll('#quarto-sidebar a')].map(a => a.getAttribute('href'));
  // a block is cut off when it reaches past the content column (or past its own box) and nothing around it scrolls
  const scrolls = e => { for (let a = e; a && a !== document.body; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const right = main.getBoundingClientRect().right + 2, cut = [];
  main.querySelectorAll('p, li, pre, table, h1, h2, h3, h4, figure, figcaption, .katex-display, .cell-output, img, canvas').forEach(e => {
    if (scrolls(e.parentElement) || (['auto', 'scroll'].includes(getComputedStyle(e).overflowX))) return;
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > right || e.scrollWidth > e.clientWidth + 2))
      cut.push(e.tagName + ': ' + (e.innerText || e.getAttribute('src') || '').slice(0, 60));
  });
  const pager = [...document.querySelectorAll('nav.page-nav a')].map(a => [a.className, a.getAttribute('href')]);
  return JSON.stringify({
    title: document.title, typeset: document.documentElement.getAttribute('data-math'),
    katex: document.querySelectorAll('.katex').length, katexErrors: [...document.querySelectorAll('.katex-error')].map(e => e.textContent),
    raw: ['$$', '\\mathcal', '\\frac', '\\begin{'].filter(s => text.includes(s)),
    rawDollar: (text.match(/\$[^$\n]{1,80}\$/g) || []).slice(0, 5),
    rawTable: (text.match(/^.*\|\s*:?-{3,}:?\s*\|.*$/m) || [])[0] || null,
    fontsOk: document.fonts.check('16px KaTeX_Main'), imgs, links, ids, sidebar, cut: cut.slice(0, 5), pager,
    fullText: document.body.innerText,
    h1: (document.querySelector('h1.title') || {getAttribute: () => null}).getAttribute('data-title'),
  });
})()"""

# words that narrate how the work went, and machine paths: a book about the paper holds neither
NARRATION = re.compile(r'\b(this session|the session|previous round|earlier rounds?|this round|last round|next round|'
                       r'the helper|commit [0-9a-f]{7,40})\b', re.I)
MACHINE_PATH = re.compile(r'(?<![\w.])/(tmp|work|root|home/\w+|Users/\w+)/[\w.-]+')


class Tab:
    "One browser tab (a DevTools target) at a given viewport; `eval` runs JavaScript, `shot` writes a PNG."
    def __init__(self, b, width=1400, height=1400, mobile=False):
        self.b = b
        self.t = b.send('Target.createTarget', {'url': 'about:blank'})['targetId']
        self.s = b.send('Target.attachToTarget', {'targetId': self.t, 'flatten': True})['sessionId']
        for dom in ('Page', 'Runtime', 'Log', 'Network'): b.send(f'{dom}.enable', session=self.s)
        b.send('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height, 'deviceScaleFactor': 1,
                                                       'mobile': mobile}, session=self.s)

    def go(self, url):
        self.start = len(self.b.events)
        self.b.send('Page.navigate', {'url': url}, session=self.s)
        self.b.wait_event('Page.loadEventFired', self.s, timeout=60)
        self.eval('document.fonts.ready.then(() => 1)', wait=True)
        time.sleep(0.3)
        return self

    def eval(self, expr, wait=False):
        r = self.b.send('Runtime.evaluate', {'expression': expr, 'returnByValue': True, 'awaitPromise': wait}, session=self.s)
        if 'exceptionDetails' in r: raise RuntimeError(f'{expr[:80]}: {r["exceptionDetails"]}')
        return r['result'].get('value')

    def mouse(self, kind, x, y):
        self.b.send('Input.dispatchMouseEvent', {'type': kind, 'x': x, 'y': y, 'button': 'left',
                                                 'buttons': 0 if kind == 'mouseReleased' else 1, 'clickCount': 1}, session=self.s)

    def errors(self):
        errs = []
        for e in self.b.events[self.start:]:
            if e.get('sessionId') != self.s: continue
            m, p = e.get('method'), e.get('params', {})
            if m == 'Runtime.exceptionThrown': errs.append('exception: ' + json.dumps(p.get('exceptionDetails', {}))[:400])
            elif m == 'Runtime.consoleAPICalled' and p.get('type') in ('error', 'assert'):
                errs.append('console.error: ' + ' '.join(str(a.get('value', a.get('description'))) for a in p.get('args', [])))
            elif m == 'Log.entryAdded' and p['entry'].get('level') == 'error': errs.append('log: ' + p['entry'].get('text', '') + ' ' + p['entry'].get('url', ''))
            elif m == 'Network.loadingFailed': errs.append('request failed: ' + p.get('errorText', ''))
            elif m == 'Network.responseReceived' and p['response'].get('status', 200) >= 400: errs.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        return errs

    def shot(self, path):
        png = self.b.send('Page.captureScreenshot', {'format': 'png'}, session=self.s)['data']
        Path(path).write_bytes(base64.b64decode(png))
        return Path(path)

    def close(self): self.b.send('Target.closeTarget', {'targetId': self.t})


def _artifacts():
    art = Path(os.environ.get('SITE_ARTIFACTS') or ROOT / '_site_artifacts')
    art.mkdir(parents=True, exist_ok=True)
    return art


PAGE = lambda nb: build_site.page_name(ROOT / 'nbs' / nb)
FIGURE_PAGES = {'22_fig2.ipynb': 'figure2', '23_fig3.ipynb': 'figure3', '24_fig4_5.ipynb': 'figures4_5'}


@pytest.fixture(scope='module')
def visits(site, server, browser):
    "Every page opened once at 1400 px: what CHECK_JS measured, and the console/network errors."
    pages, out = json.loads((site / 'site.json').read_text())['pages'], {}
    tab = Tab(browser)
    try:
        for pg in pages:
            r = json.loads(tab.go(server + pg['page']).eval(CHECK_JS))
            r['errors'] = tab.errors()
            out[pg['page']] = r
    finally: tab.close()
    return pages, out


def test_pages_in_chromium(site, server, visits):
    "Every page: no console or network error, typeset math, the sidebar, its images loaded, its links resolve."
    pages, res = visits
    problems, n_math, n_img, checked = [], 0, 0, set()
    for pg in pages:
        name, r = pg['page'], res[pg['page']]
        bad = lambda what: problems.append(f'{name}: {what}')
        if r['errors']: bad(f'console/network errors: {r["errors"][:5]}')
        if r['typeset'] != 'typeset': bad('math renderer did not run')
        if r['katexErrors']: bad(f'KaTeX could not parse: {r["katexErrors"][:3]}')
        if r['raw']: bad(f'raw LaTeX left in visible text: {r["raw"]}')
        if r['rawDollar']: bad(f'untypeset $...$ in visible text: {r["rawDollar"]}')
        if r['katex'] and not r['fontsOk']: bad('KaTeX fonts did not load')
        if r['h1'] != pg['title']: bad(f'title {r["h1"]!r} != {pg["title"]!r}')
        if r['sidebar'] != [p['page'] for p in pages]: bad(f'sidebar {r["sidebar"]} differs')
        for i in r['imgs']:
            if not i['ok']: bad(f'image did not load: {i["src"][:80]}')
        n_math += r['katex']; n_img += len(r['imgs'])
        for href in r['links']:
            u = urllib.parse.urlsplit(urllib.parse.urljoin(server + name, href))
            if not (u.scheme + '://' + u.netloc + '/').startswith(server): continue  # external: not fetched (offline)
            target = u.path.lstrip('/') or 'index.html'
            if (target, u.fragment) in checked: continue
            checked.add((target, u.fragment))
            try: code = urllib.request.urlopen(f'{server}{target}', timeout=10).status
            except Exception as e: code = getattr(e, 'code', str(e))
            if code != 200: bad(f'link {href} -> {code}'); continue
            if u.fragment and target.endswith('.html'):
                ids = r['ids'] if target == name else re.findall(r'\sid="([^"]+)"', (site / target).read_text())
                if urllib.parse.unquote(u.fragment) not in ids:
                    bad(f'link {href}: no #{u.fragment} on {target} (a show_doc cell without saved output? '
                        f'execute the notebook: python tools/run_nb.py nbs/<notebook>)')
    assert not problems, '\n'.join(problems)
    assert n_math > 0, 'no typeset math anywhere'
    print(f'{len(pages)} pages, {n_math} math elements, {n_img} images, {len(checked)} internal links checked')


def test_no_raw_markdown_table(visits):
    "A `|` inside math in a table row (e.g. $p(z|x)$) splits the row: the table then shows as raw `| a | b |` text."
    pages, res = visits
    raw = {p['page']: res[p['page']]['rawTable'] for p in pages if res[p['page']]['rawTable']}
    assert not raw, f'raw Markdown table text on pages: {raw}'


def test_figures_legible_or_zoomable(visits):
    "Every figure is shown at >= 60 % of its natural width or links to its full size; every one has real alt text."
    pages, res = visits
    bad = []
    for p in pages:
        for i in res[p['page']]['imgs']:
            if not i['alt'] or re.match(r'<(Figure|matplotlib)', i['alt']): bad.append(f"{p['page']}: alt {i['alt']!r}")
            if i['natural'] and i['shown'] < 0.6 * i['natural'] and not i['zoomable']:
                bad.append(f"{p['page']}: {i['src']} shown at {i['shown'] / i['natural']:.0%} and not zoomable")
    assert not bad, '\n'.join(bad)
    figs = [i for nb in FIGURE_PAGES for i in res[PAGE(nb)]['imgs']]
    assert figs and all(i['zoomable'] for i in figs), "the paper's figures must open at full size"


def test_zoom_opens_full_size(site, server, browser):
    "Clicking a figure of Figure 2's chapter opens it at natural size in the lightbox; Esc closes it."
    tab = Tab(browser).go(server + PAGE('22_fig2.ipynb'))
    try:
        n = tab.eval("document.querySelectorAll('main a.lightbox-link img').length")
        assert n > 0, 'no zoomable figure on the Figure 2 page'
        tab.eval("document.querySelector('main a.lightbox-link img').scrollIntoView({block: 'center'})")
        time.sleep(0.2)
        box = json.loads(tab.eval("""(() => { const i = document.querySelector('main a.lightbox-link img'); const r = i.getBoundingClientRect();
            return JSON.stringify({x: r.x + r.width / 2, y: r.y + r.height / 2, shown: r.width, natural: i.naturalWidth}); })()"""))
        assert box['shown'] < box['natural'], 'this figure is already at full size: nothing to test'
        tab.mouse('mousePressed', box['x'], box['y']); tab.mouse('mouseReleased', box['x'], box['y'])
        time.sleep(0.5)
        lb = json.loads(tab.eval("""(() => { const i = document.querySelector('#lightbox img');
            return JSON.stringify(i ? {w: i.getBoundingClientRect().width, nat: i.naturalWidth, ok: i.complete} : null); })()"""))
        assert lb and lb['ok'] and lb['nat'] == box['natural'], f'lightbox did not open the figure: {lb}'
        assert abs(lb['w'] - lb['nat']) <= 1, f"lightbox shows {lb['w']} px of {lb['nat']}"
        tab.shot(_artifacts() / 'figure2_zoomed.png')
        tab.b.send('Input.dispatchKeyEvent', {'type': 'keyDown', 'key': 'Escape', 'code': 'Escape', 'windowsVirtualKeyCode': 27}, session=tab.s)
        time.sleep(0.2)
        assert tab.eval("document.getElementById('lightbox') === null"), 'Esc did not close the lightbox'
    finally: tab.close()


def test_no_text_cut_off(site, server, browser, visits):
    "No paragraph, table, code block or figure reaches past the content column unless it scrolls; at 1400 and 390 px."
    pages, res = visits
    cut = {p['page']: res[p['page']]['cut'] for p in pages if res[p['page']]['cut']}
    tab = Tab(browser, 390, 844, mobile=True)
    try:
        for p in pages:
            r = json.loads(tab.go(server + p['page']).eval(CHECK_JS))
            if r['cut']: cut[p['page'] + ' (390 px)'] = r['cut']
    finally: tab.close()
    assert not cut, f'text cut off at the right edge: {cut}'


def test_no_narration_or_machine_paths(visits):
    "The book speaks of the paper and the package: no 'this session' / 'previous round' / commit hashes, no /tmp/..."
    pages, res = visits
    bad = {}
    for p in pages:
        t = res[p['page']]['fullText']
        hits = [m.group(0) for m in NARRATION.finditer(t)] + [m.group(0) for m in MACHINE_PATH.finditer(t)]
        if hits: bad[p['page']] = sorted(set(hits))[:6]
    assert not bad, f'narration or machine paths in rendered pages: {bad}'


def test_previous_next_links(visits):
    pages, res = visits
    for k, p in enumerate(pages):
        want = ([['prev', pages[k - 1]['page']]] if k else []) + ([['next', pages[k + 1]['page']]] if k + 1 < len(pages) else [])
        assert res[p['page']]['pager'] == want, f"{p['page']}: {res[p['page']]['pager']} != {want}"


def test_search_finds_a_chapter(site, server, browser):
    "Offline full-text search: 'leapfrog' finds the HMC chapter, typed into the search box as a reader would."
    docs = json.loads((site / 'search.json').read_text())
    assert len(docs) > 50 and {'id', 'href', 'title', 'section', 'text'} <= set(docs[0])
    hmc = PAGE('10_hmc.ipynb')
    tab = Tab(browser).go(server + 'index.html')
    try:
        hits = tab.eval("window.siteSearch('leapfrog').then(r => r.map(h => h.href))", wait=True)
        assert any(h.split('#')[0].endswith(hmc) for h in hits[:3]), f'leapfrog -> {hits[:5]}'
        tab.eval("const i = document.getElementById('search-input'); i.focus(); i.value = 'Frey'; i.dispatchEvent(new Event('input'))")
        for _ in range(50):
            shown = tab.eval("[...document.querySelectorAll('#search-results a')].map(a => a.getAttribute('href'))")
            if shown: break
            time.sleep(0.1)
        assert shown and any(PAGE('21_frey_face.ipynb') in h for h in shown), f'search box: Frey -> {shown}'
        assert not tab.errors()
    finally: tab.close()


def test_sidebar_collapses_on_a_phone(site, server, browser):
    "At 390 px the chapter list hides behind a toggle (and opens with it); screenshot of a chapter at phone width."
    tab = Tab(browser, 390, 844, mobile=True).go(server + PAGE('03_elbo.ipynb'))
    try:
        vis = "getComputedStyle(document.getElementById('quarto-sidebar')).display !== 'none'"
        assert not tab.eval(vis), 'the sidebar takes the whole phone screen'
        tab.shot(_artifacts() / 'phone.png')
        tab.eval("document.getElementById('sidebar-toggle').click()")
        assert tab.eval(vis), 'the toggle does not open the chapter list'
        tab.shot(_artifacts() / 'phone_sidebar_open.png')
        assert tab.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"), 'the page scrolls sideways on a phone'
    finally: tab.close()


def _ndtri(u):
    import torch
    return torch.special.ndtri(torch.tensor(u, dtype=torch.float64)).item()


EXPLORER_JS = r"""(() => {
  const X = window.latentExplorer, out = {};
  for (const name of Object.keys(window.AEVB_EXPLORER_DATA.models)) {
    let err = 0;
    for (const r of X.reference(name)) { const y = X.decode(name, r.z); r.y.forEach((v, i) => err = Math.max(err, Math.abs(v - y[i]))); }
    out[name] = err;
  }
  return JSON.stringify({err: out, tol: X.tolerance, n: X.explorers.length});
})()"""


def test_latent_explorer(site, server, browser):
    """The explorer on the Figures 4-5 page: for fixed z its image equals the PyTorch decoder's (reference outputs
    stored by tools/export_explorer.py) within the stated tolerance; dragging the point redraws the image."""
    import numpy as np
    sys.path.insert(0, str(ROOT / 'tools'))
    import export_explorer
    tab = Tab(browser, 1400, 1000).go(server + PAGE('24_fig4_5.ipynb'))
    try:
        r = json.loads(tab.eval(EXPLORER_JS))
        assert r['n'] >= 1 and set(r['err']) == {'mnist', 'frey'}, r
        for name, err in r['err'].items():
            assert err <= r['tol'] == export_explorer.TOL, f'{name}: JS decoder vs PyTorch max |diff| {err:.2e} > {r["tol"]}'
        # the JS forward equals the numpy forward of the same fp16 weights (float32 rounding only)
        data = export_explorer.read_asset(site / 'assets' / 'latent_explorer_data.js')
        z = [0.3, -1.1]
        js = np.array(tab.eval(f"window.latentExplorer.decode('mnist', {z})"))
        np.testing.assert_allclose(js, export_explorer.decode_np(export_explorer.entry_arrays(data['models']['mnist']), [z])[0], atol=1e-5)
        # drag: press on the plane, move, release; the readout and the image follow
        tab.eval("document.querySelector('.latent-explorer').scrollIntoView({block: 'start'})")
        time.sleep(0.2)
        box = json.loads(tab.eval("""(() => { const r = document.querySelector('.lx-plane').getBoundingClientRect();
            return JSON.stringify({x: r.x, y: r.y}); })()"""))
        before = tab.eval('window.latentExplorer.pixels()')
        x0, y0 = box['x'] + 44 + 0.5 * 300, box['y'] + 10 + 0.5 * 300
        tab.mouse('mousePressed', x0, y0)
        for k in range(1, 11): tab.mouse('mouseMoved', x0 - 12 * k, y0 + 9 * k)
        tab.mouse('mouseReleased', x0 - 120, y0 + 90)
        time.sleep(0.2)
        zs = [float(v) for v in tab.eval("document.querySelector('.latent-explorer').dataset.z").split(',')]
        want = [float(_ndtri(0.5 - 120 / 300)), float(_ndtri(0.5 - 90 / 300))]
        np.testing.assert_allclose(zs, want, atol=0.02)
        after = np.array(tab.eval('window.latentExplorer.pixels()'))
        assert np.abs(after - np.array(before)).max() > 20, 'dragging did not change the image'
        y = np.array(tab.eval(f"window.latentExplorer.decode('mnist', {zs})"))
        assert np.abs(after - np.round(255 * y)).max() <= 1, 'the canvas does not show the decoded image'
        tab.shot(_artifacts() / 'figures4_5_explorer.png')
        tab.eval("document.querySelector('.lx-tab[data-model=frey]').click()")
        assert len(tab.eval('window.latentExplorer.pixels()')) == 28 * 20
        assert not tab.errors(), tab.errors()
    finally: tab.close()


def test_screenshots(site, server, browser):
    "The home page and Figure 2's chapter (its first figure in view) as CI artifacts (`$SITE_ARTIFACTS`)."
    art = _artifacts()
    tab = Tab(browser, 1400, 1000)
    try:
        tab.go(server + 'index.html').shot(art / 'home.png')
        tab.go(server + PAGE('22_fig2.ipynb'))
        tab.eval("document.querySelector('main img').scrollIntoView({block: 'center'})"); time.sleep(0.3)
        tab.shot(art / 'figure2.png')
        tab.go(server + PAGE('03_elbo.ipynb')).shot(art / 'elbo.png')
    finally: tab.close()
    for f in ('home', 'figure2', 'elbo'): assert (art / f'{f}.png').stat().st_size > 10_000, f


def test_exported_decoder_matches_pytorch():
    """tools/export_explorer.py: the page's forward pass (numpy twin of the JavaScript) on the fp16 weights of a
    freshly initialised decoder equals PyTorch's float32 decoder within the asset's tolerance; the committed asset
    holds both models, is under 2 MB, and its reference outputs match its own weights."""
    import numpy as np, torch
    sys.path.insert(0, str(ROOT / 'tools'))
    import export_explorer as ex
    from aevb_nb.models import make_vae
    for lik, d, h in (('bernoulli', 784, 500), ('gaussian', 560, 200)):
        torch.manual_seed(0)
        m = make_vae(d, 2, lik, preset='paper', n_hidden=h, init_std=0.3)
        e = ex.model_entry(m, (28, d // 28), lik, x_test=torch.rand(20, d), y_test=np.arange(20) % 10)
        z = torch.randn(500, 2, generator=torch.Generator().manual_seed(1)) * 2
        with torch.no_grad(): ref = m.decode(z).numpy()
        err = np.abs(ex.decode_np(ex.entry_arrays(e), z.numpy()) - ref).max()
        assert 0 < err <= ex.TOL, f'{lik}: fp16 export vs PyTorch max |diff| {err:.2e} (tolerance {ex.TOL})'
        u = ex.unb64(e['test_u'], 'f2', (20, 2))                 # Phi(posterior means): inside the unit square
        assert u.shape == (20, 2) and ((u >= 0) & (u <= 1)).all()
        test_y = ex.unb64(e['test_y'], 'u1'); assert list(test_y) == list(np.arange(20) % 10)
    asset = ex.OUT
    assert asset.exists(), 'nbs/assets/latent_explorer_data.js missing: run tools/export_explorer.py'
    assert asset.stat().st_size + (asset.parent / 'latent_explorer.js').stat().st_size <= ex.MAX_BYTES
    data = ex.read_asset(asset)
    assert set(data['models']) == {'mnist', 'frey'} and data['tolerance'] == ex.TOL
    for name, e in data['models'].items():
        ref = ex.unb64(e['ref'], 'f4', (len(e['ref_z']), -1))
        err = np.abs(ex.decode_np(ex.entry_arrays(e), e['ref_z']) - ref).max()
        assert err <= ex.TOL, f'{name}: asset weights vs the PyTorch reference outputs: {err:.2e}'
        assert e['about'].get('samples', 0) >= 10 ** 6 and e['about'].get('run'), f'{name}: provenance missing'
        assert e['test_n'] == {'mnist': 1000, 'frey': 200}[name]
