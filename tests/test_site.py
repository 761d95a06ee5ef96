"""The docs website: build it with `tools/build_site.py` and check every page in headless Chromium.

Chromium (Debian's `chromium`, installed by `tools/install_site_deps.sh`) is driven through the DevTools
protocol over `--remote-debugging-pipe` (JSON messages on file descriptors 3 and 4, no websocket, no
extra Python package): every page is loaded from a local HTTP server on 127.0.0.1 and must show no console
error, no failed request, typeset math (KaTeX elements, no raw `$$`/`\\mathcal`/KaTeX error left in the
visible text), images that loaded, and links that resolve. Screenshots of the home page and the ELBO chapter
go to `$SITE_ARTIFACTS` (default `_site_artifacts/`). Without Chromium the browser test skips locally and
FAILS in CI (`CI=true`). The other tests check that this build and the Quarto build (`nbdev_docs`, driven
by `nbs/_quarto.yml`) read the same notebooks in the same order with the same titles.
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
  const clone = document.querySelector('main').cloneNode(true);
  clone.querySelectorAll('pre, code, .katex, script, style').forEach(e => e.remove());
  const text = clone.innerText || clone.textContent;
  const imgs = [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const sidebar = [...document.querySelectorAll('#quarto-sidebar a')].map(a => a.getAttribute('href'));
  return JSON.stringify({
    title: document.title, typeset: document.documentElement.getAttribute('data-math'),
    katex: document.querySelectorAll('.katex').length, katexErrors: [...document.querySelectorAll('.katex-error')].map(e => e.textContent),
    raw: ['$$', '\\mathcal', '\\frac', '\\begin{'].filter(s => text.includes(s)),
    rawDollar: (text.match(/\$[^$\n]{1,80}\$/g) || []).slice(0, 5),
    fontsOk: document.fonts.check('16px KaTeX_Main'), imgs, links, ids, sidebar,
    h1: (document.querySelector('h1.title') || {getAttribute: () => null}).getAttribute('data-title'),
  });
})()"""


def _visit(b, url, shot=None, height=1400):
    t = b.send('Target.createTarget', {'url': 'about:blank'})
    s = b.send('Target.attachToTarget', {'targetId': t['targetId'], 'flatten': True})['sessionId']
    try:
        for dom in ('Page', 'Runtime', 'Log', 'Network'): b.send(f'{dom}.enable', session=s)
        b.send('Emulation.setDeviceMetricsOverride', {'width': 1400, 'height': height, 'deviceScaleFactor': 1, 'mobile': False}, session=s)
        start = len(b.events)
        b.send('Page.navigate', {'url': url}, session=s)
        b.wait_event('Page.loadEventFired', s, timeout=60)
        b.send('Runtime.evaluate', {'expression': 'document.fonts.ready.then(() => 1)', 'awaitPromise': True}, session=s)
        time.sleep(0.3)
        res = json.loads(b.send('Runtime.evaluate', {'expression': CHECK_JS, 'returnByValue': True}, session=s)['result']['value'])
        errs = []
        for e in b.events[start:]:
            if e.get('sessionId') != s: continue
            m, p = e.get('method'), e.get('params', {})
            if m == 'Runtime.exceptionThrown': errs.append('exception: ' + json.dumps(p.get('exceptionDetails', {}))[:400])
            elif m == 'Runtime.consoleAPICalled' and p.get('type') in ('error', 'assert'):
                errs.append('console.error: ' + ' '.join(str(a.get('value', a.get('description'))) for a in p.get('args', [])))
            elif m == 'Log.entryAdded' and p['entry'].get('level') == 'error': errs.append('log: ' + p['entry'].get('text', '') + ' ' + p['entry'].get('url', ''))
            elif m == 'Network.loadingFailed': errs.append('request failed: ' + p.get('errorText', ''))
            elif m == 'Network.responseReceived' and p['response'].get('status', 200) >= 400: errs.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        res['errors'] = errs
        if shot:
            png = b.send('Page.captureScreenshot', {'format': 'png'}, session=s)['data']
            Path(shot).write_bytes(base64.b64decode(png))
            if res['imgs']:  # and one with the page's first figure in view
                b.send('Runtime.evaluate', {'expression': "document.images[0].scrollIntoView({block: 'center'})"}, session=s)
                time.sleep(0.2)
                png = b.send('Page.captureScreenshot', {'format': 'png'}, session=s)['data']
                Path(shot).with_name(Path(shot).stem + '_figure.png').write_bytes(base64.b64decode(png))
        return res
    finally:
        b.send('Target.closeTarget', {'targetId': t['targetId']})


def test_pages_in_chromium(site, server, browser):
    art = Path(os.environ.get('SITE_ARTIFACTS') or ROOT / '_site_artifacts')
    art.mkdir(parents=True, exist_ok=True)
    pages = json.loads((site / 'site.json').read_text())['pages']
    shots = {'index.html': art / 'home.png', build_site.page_name(ROOT / 'nbs' / '03_elbo.ipynb'): art / 'elbo.png'}
    problems, n_math, n_img, checked = [], 0, 0, set()
    for pg in pages:
        name = pg['page']
        r = _visit(browser, server + name, shot=shots.get(name))
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
    assert (art / 'home.png').stat().st_size > 10_000 and (art / 'elbo.png').stat().st_size > 10_000
    print(f'{len(pages)} pages, {n_math} math elements, {n_img} images, {len(checked)} internal links checked; screenshots in {art}')
