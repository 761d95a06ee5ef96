// The latent explorer of chapter 24 (Figures 4-5): drag a point over the prior-quantile square of an N_z = 2 model
// and its decoder mean image is recomputed as you drag: y = sigmoid(W2 tanh(W1 z + b1) + b2) with z = Phi^-1(u),
// the same coordinates as Figure 4 (z1 left to right, z2 bottom to top). Under the point: the posterior means
// Phi(mu_phi(x)) of the test images (MNIST coloured by digit) over the training images (grey).
// Plain JavaScript and canvas, no network: the weights come from latent_explorer_data.js (tools/export_explorer.py).
(function () {
  'use strict';
  var DATA = window.AEVB_EXPLORER_DATA;
  var DIGIT = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#000000', '#882255', '#999933'];
  var LABEL = {mnist: 'MNIST', frey: 'Frey Face'};

  function unb64(s, type) {
    var bin = atob(s), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var dv = new DataView(bytes.buffer), out;
    if (type === 'f2') {
      out = new Float32Array(bytes.length / 2);
      for (var j = 0; j < out.length; j++) out[j] = half(dv.getUint16(2 * j, true));
    } else if (type === 'f4') {
      out = new Float32Array(bytes.length / 4);
      for (var k = 0; k < out.length; k++) out[k] = dv.getFloat32(4 * k, true);
    } else out = bytes;
    return out;
  }
  function half(h) {                                     // IEEE 754 binary16 -> number
    var s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
    if (e === 31) return f ? NaN : s * Infinity;
    return s * Math.pow(2, e - 15) * (1 + f / 1024);
  }
  // Phi^-1 (Acklam's rational approximation, relative error < 1.2e-9)
  function ndtri(p) {
    var a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
    var b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
    var c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
    var d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
    var q, r;
    if (p < 0.02425) { q = Math.sqrt(-2 * Math.log(p)); return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q+c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q+1); }
    if (p > 1 - 0.02425) { q = Math.sqrt(-2 * Math.log(1 - p)); return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q+c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q+1); }
    q = p - 0.5; r = q * q;
    return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r+a[5])*q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r+1);
  }

  var models = {};
  function model(name) {
    if (models[name]) return models[name];
    var e = DATA.models[name];
    var m = {e: e, H: e.hidden, D: e.x_dim, W1: unb64(e.W1, 'f2'), b1: unb64(e.b1, 'f2'), W2: unb64(e.W2, 'f2'),
             b2: unb64(e.b2, 'f2'), h: new Float32Array(e.hidden), y: new Float32Array(e.x_dim)};
    ['train', 'test'].forEach(function (s) {
      if (e[s + '_u']) m[s + '_u'] = unb64(e[s + '_u'], 'f2');
      if (e[s + '_y']) m[s + '_y'] = unb64(e[s + '_y'], 'u1');
    });
    return (models[name] = m);
  }
  // the decoder mean at z: h = tanh(W1 z + b1) (H), y = sigmoid(W2 h + b2) (D); W row-major (out, in) as torch
  function decode(name, z) {
    var m = model(name), H = m.H, D = m.D, h = m.h, y = m.y;
    for (var i = 0; i < H; i++) h[i] = Math.tanh(m.W1[2 * i] * z[0] + m.W1[2 * i + 1] * z[1] + m.b1[i]);
    for (var j = 0; j < D; j++) {
      var s = m.b2[j], row = j * H;
      for (var k = 0; k < H; k++) s += m.W2[row + k] * h[k];
      y[j] = 1 / (1 + Math.exp(-s));
    }
    return y;
  }

  function el(tag, cls, parent, text) {
    var x = document.createElement(tag);
    if (cls) x.className = cls;
    if (text) x.textContent = text;
    if (parent) parent.appendChild(x);
    return x;
  }
  function sizeCanvas(c, w, h) {
    var r = window.devicePixelRatio || 1;
    c.width = Math.round(w * r); c.height = Math.round(h * r); c.style.width = w + 'px'; c.style.height = h + 'px';
    var ctx = c.getContext('2d'); ctx.setTransform(r, 0, 0, r, 0, 0);
    return ctx;
  }

  function Explorer(root) {
    var names = Object.keys(DATA.models), self = this;
    this.root = root; this.name = names[0]; this.u = [0.5, 0.5];
    root.innerHTML = '';
    var bar = el('div', 'lx-tabs', root);
    this.tabs = names.map(function (n) {
      var b = el('button', 'lx-tab', bar, LABEL[n] || n);
      b.type = 'button'; b.dataset.model = n;
      b.addEventListener('click', function () { self.select(n); });
      return b;
    });
    var row = el('div', 'lx-row', root);
    var left = el('div', 'lx-left', row);
    this.P = 300; this.M = {l: 44, r: 10, t: 10, b: 40};            // plane size and margins (CSS px)
    this.plane = el('canvas', 'lx-plane', left);
    this.plane.setAttribute('role', 'slider'); this.plane.tabIndex = 0;
    this.plane.setAttribute('aria-label', 'latent point: drag, or use the arrow keys');
    var right = el('div', 'lx-right', row);
    this.img = el('canvas', 'lx-image', right);
    this.img.setAttribute('aria-label', 'decoder mean image at the chosen latent point');
    this.readout = el('div', 'lx-readout', right);
    this.legend = el('div', 'lx-legend', right);
    this.about = el('div', 'lx-about', root);
    this.small = document.createElement('canvas');
    var drag = false;
    var at = function (ev) {
      var r = self.plane.getBoundingClientRect(), W = self.P;
      var u1 = (ev.clientX - r.left - self.M.l) / W, u2 = 1 - (ev.clientY - r.top - self.M.t) / W;
      self.set([u1, u2]);
    };
    this.plane.addEventListener('pointerdown', function (ev) { drag = true; try { self.plane.setPointerCapture(ev.pointerId); } catch (e) {} at(ev); ev.preventDefault(); });
    this.plane.addEventListener('pointermove', function (ev) { if (drag) at(ev); });
    ['pointerup', 'pointercancel'].forEach(function (t) { self.plane.addEventListener(t, function () { drag = false; }); });
    this.plane.addEventListener('keydown', function (ev) {
      var d = {ArrowLeft: [-0.02, 0], ArrowRight: [0.02, 0], ArrowUp: [0, 0.02], ArrowDown: [0, -0.02]}[ev.key];
      if (d) { self.set([self.u[0] + d[0], self.u[1] + d[1]]); ev.preventDefault(); }
    });
    this.select(this.name);
  }
  Explorer.prototype.select = function (name) {
    this.name = name;
    this.tabs.forEach(function (b) { b.classList.toggle('active', b.dataset.model === name); b.setAttribute('aria-pressed', b.dataset.model === name); });
    var m = model(name), e = m.e, sh = e.image_shape, scale = Math.max(4, Math.floor(224 / sh[0]));
    sizeCanvas(this.plane, this.P + this.M.l + this.M.r, this.P + this.M.t + this.M.b);
    var ictx = sizeCanvas(this.img, sh[1] * scale, sh[0] * scale);
    this.small.width = sh[1]; this.small.height = sh[0];
    ictx.imageSmoothingEnabled = false;
    this.drawScatter();
    this.legend.innerHTML = '';
    if (m.test_y) {
      for (var k = 0; k < 10; k++) {
        var s = el('span', 'lx-key', this.legend); var dot = el('i', '', s); dot.style.background = DIGIT[k];
        s.appendChild(document.createTextNode(String(k)));
      }
      el('span', 'lx-key lx-train', this.legend, 'grey: training images');
    } else el('span', 'lx-key', this.legend, 'blue: test frames (held-out blocks); grey: training frames');
    var a = e.about || {};
    this.about.textContent = (LABEL[name] || name) + ': AEVB, N_z = 2, ' + e.hidden + ' tanh units, ' +
      (a.samples ? a.samples.toLocaleString('en-US') + ' training samples' : '') +
      (a.test_bound !== undefined ? ' (lower bound, nats per datapoint: train ' + a.train_bound + ', test ' + a.test_bound + ')' : '') +
      (a.run ? '; run ' + a.run : '') + (a.checkpoint_sha256 ? ', checkpoint sha256 ' + a.checkpoint_sha256 + '…' : '') +
      '. Weights in fp16; the image matches the float32 PyTorch decoder within ' + DATA.tolerance + ' per pixel.';
    this.set(this.u);
  };
  Explorer.prototype.drawScatter = function () {
    var m = model(this.name), P = this.P, M = this.M;
    var bg = document.createElement('canvas'), ctx = sizeCanvas(bg, P + M.l + M.r, P + M.t + M.b);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, P + M.l + M.r, P + M.t + M.b);
    ctx.strokeStyle = '#adb5bd'; ctx.lineWidth = 1; ctx.strokeRect(M.l, M.t, P, P);
    ctx.font = '11px system-ui, sans-serif'; ctx.fillStyle = '#495057'; ctx.textAlign = 'center';
    [0.05, 0.25, 0.5, 0.75, 0.95].forEach(function (u) {
      var x = M.l + u * P, y = M.t + (1 - u) * P, z = ndtri(u).toFixed(1);
      ctx.strokeStyle = '#e9ecef'; ctx.beginPath(); ctx.moveTo(x, M.t); ctx.lineTo(x, M.t + P); ctx.moveTo(M.l, y); ctx.lineTo(M.l + P, y); ctx.stroke();
      ctx.fillText(z, x, M.t + P + 13); ctx.textAlign = 'right'; ctx.fillText(z, M.l - 4, y + 4); ctx.textAlign = 'center';
    });
    ctx.fillText('z\u2081 (ticks at the prior quantiles 5, 25, 50, 75, 95 %)', M.l + P / 2, M.t + P + 30);
    ctx.save(); ctx.translate(12, M.t + P / 2); ctx.rotate(-Math.PI / 2); ctx.fillText('z\u2082', 0, 0); ctx.restore();
    var dots = function (u, y, col, r) {
      if (!u) return;
      for (var i = 0; i < u.length / 2; i++) {
        ctx.fillStyle = y ? DIGIT[y[i]] : col;
        ctx.fillRect(M.l + u[2 * i] * P - r / 2, M.t + (1 - u[2 * i + 1]) * P - r / 2, r, r);
      }
    };
    ctx.globalAlpha = 0.35; dots(m.train_u, null, '#adb5bd', 2);
    ctx.globalAlpha = 0.9; dots(m.test_u, m.test_y, '#0072B2', 3); ctx.globalAlpha = 1;
    this.bg = bg;
  };
  Explorer.prototype.set = function (u) {
    var lo = 0.002, hi = 0.998;
    this.u = [Math.min(hi, Math.max(lo, u[0])), Math.min(hi, Math.max(lo, u[1]))];
    var z = [ndtri(this.u[0]), ndtri(this.u[1])], m = model(this.name), e = m.e, P = this.P, M = this.M;
    var ctx = this.plane.getContext('2d'), r = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.drawImage(this.bg, 0, 0); ctx.setTransform(r, 0, 0, r, 0, 0);
    var x = M.l + this.u[0] * P, y = M.t + (1 - this.u[1]) * P;
    ctx.strokeStyle = '#D55E00'; ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x - 11, y); ctx.lineTo(x + 11, y); ctx.moveTo(x, y - 11); ctx.lineTo(x, y + 11); ctx.stroke();
    var img = decode(this.name, z), sh = e.image_shape, sctx = this.small.getContext('2d');
    var id = sctx.createImageData(sh[1], sh[0]);
    for (var i = 0; i < img.length; i++) {
      var v = Math.round(255 * img[i]);
      id.data[4 * i] = id.data[4 * i + 1] = id.data[4 * i + 2] = v; id.data[4 * i + 3] = 255;
    }
    sctx.putImageData(id, 0, 0);
    var ictx = this.img.getContext('2d');
    ictx.imageSmoothingEnabled = false;
    ictx.drawImage(this.small, 0, 0, this.img.clientWidth || this.img.width, this.img.clientHeight || this.img.height);
    this.readout.textContent = 'u = (' + this.u[0].toFixed(3) + ', ' + this.u[1].toFixed(3) + ')   z = \u03a6\u207b\u00b9(u) = (' +
      z[0].toFixed(2) + ', ' + z[1].toFixed(2) + ')';
    this.z = z; this.root.dataset.z = z.join(',');
  };

  function start() {
    if (!DATA) return;
    var roots = document.querySelectorAll('.latent-explorer'), list = [];
    roots.forEach(function (r) { list.push(new Explorer(r)); });
    window.latentExplorer = {
      explorers: list, decode: function (name, z) { return Array.from(decode(name, z)); }, ndtri: ndtri,
      tolerance: DATA.tolerance,
      // the 8-bit grey levels of the small canvas the displayed image is scaled from
      pixels: function (i) { var x = list[i || 0]; return Array.from(x.small.getContext('2d').getImageData(0, 0, x.small.width, x.small.height).data.filter(function (v, k) { return k % 4 === 0; })); },
      // the PyTorch reference outputs stored by the exporter, for the browser test
      reference: function (name) { var e = DATA.models[name], ref = unb64(e.ref, 'f4'), D = e.x_dim; return e.ref_z.map(function (z, k) { return {z: z, y: Array.from(ref.slice(k * D, (k + 1) * D))}; }); }
    };
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
