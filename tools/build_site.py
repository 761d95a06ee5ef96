"""Build the docs website from the notebooks without Quarto (offline: no CDN, math by a local KaTeX).

    python tools/build_site.py [--out _site] [--proc DIR] [--workers N]

On GitHub the site is built by `nbdev_docs` (nbdev's notebook processors, then Quarto). Quarto cannot be
installed everywhere, so this is a second path to the same pages that needs only the dev requirements and
a KaTeX build from a package registry (`bash tools/install_site_deps.sh` installs Debian's `libjs-katex`;
`KATEX_DIR=...` may point at any KaTeX `dist/` folder, e.g. npm's `node_modules/katex/dist`).
The two paths cannot drift apart because they share their inputs and their first half:

- every notebook goes through nbdev's own processors (`nbdev.processors.FilterDefaults`, exactly what
  `nbdev_docs`/`nbdev_proc_nbs` run before Quarto): `#| hide`, `#| export`, `show_doc`, frontmatter from the
  notebook's first `# Title` and `> description`, backtick links to the API, ...;
- the page list and order are nbdev's (`nbdev.doclinks.nbglob` over `nbs/`, index first, as `nbdev_sidebar`
  writes Quarto's `sidebar.yml`), page titles and file names come from the frontmatter nbdev writes
  (`title`, `output-file`: `03_elbo.ipynb` -> `elbo.html`, as Quarto names it);
- cell options are the ones Quarto reads from the processed notebooks (`echo: false`, `output: asis`,
  `output: false`, `include: false`, `code-fold`), and `nbs/styles.css` styles both sites.

nbdev's processors honour `skip_procs` in settings.ini for both paths. With `skip_procs = exec_show_docs` the
committed (executed) notebooks' saved `show_doc` outputs are used as they are, instead of nbdev re-running every
cell that has an import (slow, and a cell mixing imports with other code fails there); `--skip-procs` (or
`BUILD_SITE_SKIP_PROCS`) skips more processors for one local build only.

Then each processed notebook is rendered to one HTML page: a sidebar in notebook order (home page from
`index.ipynb`), the title block, markdown (links to `NN_x.ipynb` rewritten to the page's `.html`, links to
the published docs site made relative), highlighted code, text outputs, saved figures (PNG written under
`<page>_files/`), and math typeset in the browser by KaTeX copied into `site_libs/katex/`.
"""
import argparse, base64, html, json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_ASSETS = ROOT / 'tools' / 'site_assets'          # site.js (lightbox, sidebar toggle, search), lunr (vendored, MIT)
KATEX_CANDIDATES = ['/usr/share/javascript/katex', 'node_modules/katex/dist', '/usr/lib/node_modules/katex/dist']


# ----------------------------------------------------------------------------------------------- discovery
def notebooks(nbs_path=None):
    "The site's notebooks in sidebar order: nbdev's `nbglob` (as `nbdev_sidebar`), sorted, `index.ipynb` first."
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    cfg = get_config(path=ROOT)
    path = Path(nbs_path or cfg.nbs_path)
    files = nbglob(path, func=Path, file_re=r'\.ipynb$', skip_folder_re=r'(?:^[_.]|^www\$)')
    key = lambda p: (p.parent.relative_to(path).as_posix(), '00' if p.name.startswith('index.') else p.name)
    return sorted(files, key=key)


def page_name(nb_path, nbs_path=None):
    "Quarto's output file of a notebook (what nbdev's frontmatter `output-file` and `_modidx` links use)."
    from nbdev.doclinks import _nbpath2html
    nbs_path = Path(nbs_path or ROOT / 'nbs')
    return _nbpath2html(Path(nb_path).relative_to(nbs_path)).as_posix()


def find_katex():
    "A KaTeX build (folder with katex.min.js, katex.min.css, contrib/auto-render.min.js|.js, fonts/)."
    for d in [os.environ.get('KATEX_DIR')] + KATEX_CANDIDATES:
        if not d: continue
        d = Path(d) if Path(d).is_absolute() else ROOT / d
        if (d / 'katex.min.js').exists() and (d / 'katex.min.css').exists() and (d / 'fonts').exists(): return d
    raise SystemExit('build_site: no KaTeX found (looked in $KATEX_DIR, ' + ', '.join(KATEX_CANDIDATES) +
                     '). Run `bash tools/install_site_deps.sh` (Debian libjs-katex) or set KATEX_DIR.')


# ----------------------------------------------------------------------------------------------- processing
def _proc_many(pairs):
    "Run nbdev's docs processors on notebooks (what `nbdev.serve_drv.main` does for `nbdev_docs`, one process per worker)."
    os.chdir(ROOT)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    os.environ['IN_TEST'] = '1'  # as nbdev.serve_drv: no modidx rebuild inside show_doc execution
    from execnb.nbio import read_nb, write_nb
    from fastcore.foundation import L
    from nbdev.processors import FilterDefaults
    skip = set((os.environ.get('BUILD_SITE_SKIP_PROCS') or '').split(',')) - {''}
    class Filter(FilterDefaults):
        def procs(self): return L(super().procs()).filter(lambda x: x.__name__ not in skip)
    bad = 0
    for src, dst in zip(pairs[::2], pairs[1::2]):
        t = time.time()
        try:
            nb = read_nb(src)
            Filter()(nb)
            write_nb(nb, dst)
            print(f'processed {Path(src).name} {time.time() - t:.1f}s', flush=True)
        except Exception as e:
            bad += 1
            print(f'FAILED {Path(src).name}: {type(e).__name__}: {str(e)[:600]}', flush=True)
    if bad: sys.exit(1)


def process(nbs, proc_dir, workers=2, skip_procs='', timeout=600):
    "Process every notebook, each in its own Python process (as nbdev's `proc_nbs` does with spawned workers)."
    import subprocess
    from concurrent.futures import ThreadPoolExecutor
    proc_dir.mkdir(parents=True, exist_ok=True)
    def run(chunk):
        t = time.time()
        args = [a for p in chunk for a in (str(p), str(proc_dir / (p.stem + '.ipynb')))]
        try:
            r = subprocess.run([sys.executable, __file__, '--proc', str(proc_dir), '--proc-many', *args], timeout=timeout,
                               cwd=ROOT, capture_output=True, text=True, env={**os.environ, 'BUILD_SITE_SKIP_PROCS': skip_procs})
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
            done = re.findall(r'^processed (\S+)', out, re.M)
            return time.time() - t, [(', '.join(p.name for p in chunk if p.name not in done), f'timed out after {timeout}s')]
        fails = re.findall(r'^FAILED (\S+): (.*?)(?=^FAILED |^processed |\Z)', r.stdout, flags=re.S | re.M)
        if r.returncode and not fails: fails = [(', '.join(p.name for p in chunk), (r.stdout + r.stderr)[-3000:])]
        return time.time() - t, fails
    n = max(1, min(workers, len(nbs)))
    chunks = [nbs[i::n] for i in range(n)]
    with ThreadPoolExecutor(max_workers=n) as ex:
        res = list(ex.map(run, chunks))
    bad = [f for t, fs in res for f in fs]
    if bad:
        msg = '\n'.join(f'--- {n}: {e.strip()}' for n, e in bad)
        raise SystemExit(f'build_site: nbdev\'s docs processing (the same step `nbdev_docs` runs before Quarto) failed '
                         f'for {", ".join(n for n, _ in bad)}. nbdev executes every cell with `#| export`, imports or '
                         f'`show_doc` (a cell mixing imports with other code runs too: split it):\n{msg}')
    return [t for t, fs in res]


# ----------------------------------------------------------------------------------------------- rendering
_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_frontmatter = re.compile(r'^---\s*\n(.*?)\n---\s*$', re.S)
_re_mpl_repr = re.compile(r'^<(Figure|matplotlib\.\S+) .*>$')   # `<Figure size 640x480 with 2 Axes>`: no alt text


def split_directives(src):
    "Quarto/nbdev cell options (`#| key: value` lines at the top) and the remaining source."
    lines, opts = src.splitlines(), {}
    i = 0
    while i < len(lines) and (lines[i].strip().startswith('#|') or not lines[i].strip()):
        m = _re_dir.match(lines[i])
        if m: opts[m.group(1)] = m.group(2).strip().strip('"\'') or 'true'
        i += 1
    return opts, '\n'.join(lines[i:]).strip('\n')


def inline_md(text):
    "A title as Quarto shows it: HTML-escaped, `code` in code font (math is left to KaTeX)."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(text))


def _false(v): return str(v).lower() in ('false', 'no', '0')
def _true(v): return str(v).lower() in ('true', 'yes', '1', 'show')


def slugify(text):
    "Pandoc's auto identifier (what Quarto gives headings, and what nbdev's `_modidx` anchors assume)."
    s = re.sub(r'<[^>]+>', '', text)
    s = html.unescape(s)
    s = re.sub(r'[^\w\s.\-]', '', s, flags=re.UNICODE).strip().lower()
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z]+', '', s)
    return s or 'section'


class Page:
    def __init__(self, src, proc, name, site, base_url):
        self.src, self.proc, self.name, self.site, self.base_url = Path(src), Path(proc), name, site, base_url
        self.title, self.description, self.ids, self.heading = Path(src).stem, '', set(), ''

    # markdown -> html, with the few pandoc/Quarto extras nbdev's output relies on
    def md(self, text):
        from nbconvert.filters.markdown_mistune import markdown2html_mistune
        # `[text](url){target="_blank" style="..."}` (pandoc link attributes, used by show_doc's [source] link)
        def _attr_link(m):
            attrs = ' '.join(f'{k}="{html.escape(v)}"' for k, v in re.findall(r'([\w-]+)="([^"]*)"', m.group(3)))
            return f'<a href="{html.escape(m.group(2))}" {attrs}>{html.escape(m.group(1))}</a>'
        text = re.sub(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}', _attr_link, text)
        out = markdown2html_mistune(text)
        return self.fix_html(out)

    def fix_html(self, out):
        def _hdr(m):
            level, inner = m.group(1), m.group(3)
            inner = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', '', inner)
            base = slugify(inner); i, hid = 1, slugify(inner)
            while hid in self.ids: hid = f'{base}-{i}'; i += 1
            self.ids.add(hid)
            return f'<h{level} id="{hid}" class="anchored">{inner}<a class="anchor-link" href="#{hid}" aria-label="link to this section">#</a></h{level}>'
        out = re.sub(r'<h([1-6])(\s[^>]*)?>(.*?)</h\1>', _hdr, out, flags=re.S)
        out = re.sub(r'<table\b(.*?)</table>', r'<div class="table-wrap"><table\1</table></div>', out, flags=re.S)
        return re.sub(r'(href|src)="([^"]*)"', lambda m: f'{m.group(1)}="{self.fix_link(m.group(2))}"', out)

    def fix_link(self, url):
        "`03_elbo.ipynb#x` -> `elbo.html#x`; links into the published site -> relative links."
        u = html.unescape(url)
        if self.base_url and u.startswith(self.base_url):
            u = u[len(self.base_url):].lstrip('/') or 'index.html'
        if not re.match(r'^[a-z][a-z0-9+.-]*:', u) and not u.startswith(('#', '/')):
            path, frag = (u.split('#', 1) + [''])[:2]
            if path.endswith('.ipynb'):
                target = (self.src.parent / path)
                try: path = page_name(target.resolve(), self.site.nbs_path)
                except ValueError: path = re.sub(r'\.ipynb$', '.html', path)
            u = path + ('#' + frag if frag else '')
        return html.escape(u, quote=True)

    def code(self, src, lang='python'):
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
        try: lexer = get_lexer_by_name(lang or 'python')
        except Exception: lexer = get_lexer_by_name('text')
        return highlight(src, lexer, HtmlFormatter(cssclass='sourceCode highlight', nowrap=False))

    def outputs(self, cell, opts, idx):
        res = []
        asis = opts.get('output') == 'asis'
        for j, o in enumerate(cell.get('outputs', [])):
            ot = o.get('output_type')
            if ot == 'stream':
                txt = ''.join(o.get('text', ''))
                if _false(opts.get('warning', 'true')) and o.get('name') == 'stderr': continue
                if txt.strip(): res.append(f'<div class="cell-output cell-output-{o.get("name", "stdout")}"><pre><code>{html.escape(txt)}</code></pre></div>')
            elif ot == 'error':
                tb = re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', '\n'.join(o.get('traceback', [])))
                res.append(f'<div class="cell-output cell-output-error"><pre><code>{html.escape(tb)}</code></pre></div>')
            elif ot in ('display_data', 'execute_result'):
                d = o.get('data', {})
                txt = lambda k: ''.join(d[k]) if isinstance(d[k], list) else d[k]
                if asis and 'text/markdown' in d: res.append(f'<div class="cell-output cell-output-markdown asis">{self.md(txt("text/markdown"))}</div>')
                elif 'text/html' in d: res.append(f'<div class="cell-output cell-output-display">{self.fix_html(txt("text/html"))}</div>')
                elif 'image/png' in d:
                    rel = f'{Path(self.name).stem}_files/figure-html/cell-{idx}-output-{j + 1}.png'
                    (self.site.out / rel).parent.mkdir(parents=True, exist_ok=True)
                    (self.site.out / rel).write_bytes(base64.b64decode(txt('image/png')))
                    plain = txt('text/plain') if 'text/plain' in d else ''
                    res.append(self.figure(rel, opts, None if _re_mpl_repr.match(plain.strip()) else plain))
                elif 'image/svg+xml' in d: res.append(f'<div class="cell-output cell-output-display">{txt("image/svg+xml")}</div>')
                elif 'text/markdown' in d: res.append(f'<div class="cell-output cell-output-display">{self.md(txt("text/markdown"))}</div>')
                elif 'text/latex' in d: res.append(f'<div class="cell-output cell-output-display">{html.escape(txt("text/latex"))}</div>')
                elif 'text/plain' in d: res.append(f'<div class="cell-output cell-output-display"><pre><code>{html.escape(txt("text/plain"))}</code></pre></div>')
        return '\n'.join(res)

    def callouts(self, src, body):
        """Quarto's collapsed callout spanning cells: a markdown cell opening with `::: {.callout-note collapse="true"}`
        (its first heading is the summary) up to a cell ending with `:::` becomes one `<details>` block."""
        m = re.match(r'^\s*:::+\s*\{\.callout-(\w+)([^}]*)\}\s*\n', src)
        if m:
            src = src[m.end():]
            h = re.match(r'^\s*(#{1,4})\s+(.+?)\s*\n', src)
            title = h.group(2) if h else 'Details'
            if h: src = src[h.end():]
            hid = slugify(title); self.ids.add(hid)
            opened = '' if 'collapse="true"' in m.group(2) else ' open'
            summary = re.sub(r'^<p>|</p>$', '', self.md(title).strip())
            body.append(f'<details class="callout callout-{m.group(1)}" id="{hid}"{opened}><summary>{summary}</summary>')
        if re.search(r'\n?^\s*:::+\s*$', src, re.M) and not re.search(r':::+\s*\{', src):
            before = re.split(r'^\s*:::+\s*$', src, maxsplit=1, flags=re.M)
            if before[0].strip(): body.append(f'<div class="cell-markdown">{self.md(before[0])}</div>')
            body.append('</details>')
            return before[1] if len(before) > 1 else ''
        return src

    def figure(self, rel, opts, plain=None):
        "A saved figure: a link to the full-size PNG (the lightbox opens it), real alt text, the caption if any."
        cap = opts.get('fig-cap', '')
        alt = opts.get('fig-alt') or cap or plain or f'Figure in "{self.title}"' + (
            f', section "{self.heading}"' if self.heading else '')
        alt = re.sub(r'[`*$\\]', '', alt)
        fc = f'<figcaption>{self.md(cap)}</figcaption>' if cap else ''
        return (f'<div class="cell-output cell-output-display"><figure class="figure">'
                f'<a href="{rel}" class="lightbox-link" title="click to zoom (full resolution)">'
                f'<img src="{rel}" alt="{html.escape(alt, quote=True)}" class="figure-img"></a>'
                f'{fc}</figure></div>')

    def render(self):
        from execnb.nbio import read_nb
        import yaml
        nb = read_nb(self.proc)
        body, lang = [], nb.metadata.get('language_info', {}).get('name', 'python')
        for idx, cell in enumerate(nb.cells):
            src = ''.join(cell.get('source', ''))
            if cell.cell_type == 'raw':
                m = _re_frontmatter.match(src.strip())
                if m and idx == 0:
                    fm = yaml.safe_load(m.group(1)) or {}
                    self.title = str(fm.get('title', self.title)); self.description = str(fm.get('description', '') or '')
                continue
            if cell.cell_type == 'markdown':
                src = self.callouts(src, body)
                if src.strip(): body.append(f'<div class="cell-markdown">{self.md(src)}</div>')
                hs = re.findall(r'^#{1,4}\s+(.+?)\s*$', src, re.M)
                if hs: self.heading = hs[-1]
                continue
            if cell.cell_type != 'code': continue
            opts, code = split_directives(src)
            if _false(opts.get('include', 'true')): continue
            show_code = bool(code.strip()) and not _false(opts.get('echo', 'true'))
            outs = '' if _false(opts.get('output', 'true')) else self.outputs(cell, opts, idx)
            if not show_code and not outs: continue
            parts = []
            if show_code:
                hl = self.code(code, cell.metadata.get('language', lang))
                fold = opts.get('code-fold')
                if fold and not _false(fold):
                    hl = f'<details class="code-fold"{" open" if fold == "show" else ""}><summary>{html.escape(opts.get("code-summary", "Code"))}</summary>{hl}</details>'
                parts.append(hl)
            if outs: parts.append(outs)
            body.append(f'<div class="cell">{"".join(parts)}</div>')
        self.body = '\n'.join(body)
        return self

    def toc(self):
        items = re.findall(r'<h([23]) id="([^"]+)"[^>]*>(.*?)<a class="anchor-link"', self.body, flags=re.S)
        if not items: return ''
        strip = lambda t: re.sub(r'<(?!/?(code|span)\b)[^>]+>', '', t)
        lis = ''.join(f'<li class="toc-h{lvl}"><a href="#{hid}">{strip(txt)}</a></li>' for lvl, hid, txt in items)
        return f'<nav id="TOC" class="toc"><h2 class="toc-title">On this page</h2><ul>{lis}</ul></nav>'


TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tools/build_site.py (nbdev processors + nbconvert markdown + KaTeX)">
<title>{page_title}</title>
<meta name="description" content="{meta_desc}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="site_libs/katex/katex.min.css">
<link rel="stylesheet" href="site_libs/pygments.css">
<link rel="stylesheet" href="site_libs/site.css">
<link rel="stylesheet" href="styles.css">
<script defer src="site_libs/katex/katex.min.js"></script>
<script defer src="site_libs/katex/contrib/auto-render.min.js"></script>
<script defer src="site_libs/render-math.js"></script>
<script defer src="site_libs/lunr/lunr.min.js"></script>
<script defer src="site_libs/site.js"></script>
</head>
<body>
<header class="navbar">
<button id="sidebar-toggle" class="sidebar-toggle" aria-controls="quarto-sidebar" aria-expanded="false" aria-label="chapters">&#9776;</button>
<a class="navbar-title" href="index.html">{site_title}</a>
<div class="search" role="search"><input id="search-input" type="search" placeholder="Search" aria-label="search the book" autocomplete="off">
<div id="search-results" class="search-results" hidden></div></div>
<a class="navbar-repo" href="{repo_url}">GitHub</a></header>
<div class="page-layout">
<nav id="quarto-sidebar" class="sidebar" aria-label="chapters"><ul>
{sidebar}
</ul></nav>
<main class="content" id="quarto-document-content">
<header id="title-block-header" class="quarto-title-block">
<h1 class="title" data-title="{title}">{title_html}</h1>
{description}
</header>
{body}
{pager}
</main>
<aside class="toc-container">{toc}</aside>
</div>
</body>
</html>
"""

RENDER_MATH_JS = """// Typeset $...$, $$...$$, \\(...\\), \\[...\\] and LaTeX environments with the bundled KaTeX (no network).
document.addEventListener('DOMContentLoaded', function () {
  renderMathInElement(document.body, {
    delimiters: [
      {left: '$$', right: '$$', display: true},
      {left: '\\\\[', right: '\\\\]', display: true},
      {left: '\\\\begin{equation}', right: '\\\\end{equation}', display: true},
      {left: '\\\\begin{equation*}', right: '\\\\end{equation*}', display: true},
      {left: '\\\\begin{align}', right: '\\\\end{align}', display: true},
      {left: '\\\\begin{align*}', right: '\\\\end{align*}', display: true},
      {left: '\\\\begin{aligned}', right: '\\\\end{aligned}', display: true},
      {left: '$', right: '$', display: false},
      {left: '\\\\(', right: '\\\\)', display: false}
    ],
    ignoredTags: ['script', 'noscript', 'style', 'textarea', 'pre', 'code', 'option'],
    throwOnError: false,
    trust: false
  });
  document.documentElement.setAttribute('data-math', 'typeset');
});
"""

SITE_CSS = """
:root { --sidebar-w: 17rem; --toc-w: 14rem; --accent: #2780e3; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #343a40; line-height: 1.5; font-size: 16px; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.navbar { display: flex; align-items: center; background: var(--accent);
          padding: .6rem 1.2rem; position: sticky; top: 0; z-index: 10; }
.navbar a { color: #fff; font-weight: 600; }
.navbar-title { font-size: 1.2rem; }
.page-layout { display: grid; grid-template-columns: var(--sidebar-w) minmax(0, 1fr) var(--toc-w); gap: 2rem;
               max-width: 1500px; margin: 0 auto; padding: 0 1rem; }
.sidebar { position: sticky; top: 3.2rem; align-self: start; max-height: calc(100vh - 3.5rem); overflow-y: auto;
           padding: 1.2rem 0; font-size: .92rem; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar li a { display: block; padding: .25rem .6rem; color: #495057; border-left: 2px solid transparent; }
.sidebar li a.active { color: var(--accent); border-left-color: var(--accent); font-weight: 600; }
.content { padding: 1.2rem 0 4rem; min-width: 0; }
.toc-container { position: sticky; top: 3.2rem; align-self: start; padding: 1.2rem 0; font-size: .85rem; }
.toc ul { list-style: none; padding-left: 0; margin: 0; } .toc li.toc-h3 { padding-left: .8rem; }
.toc-title { font-size: .9rem; font-weight: 600; margin: 0 0 .4rem; }
.toc a { color: #6c757d; display: block; padding: .1rem 0; }
h1.title { margin: .3rem 0 .4rem; font-size: 2.1rem; }
h1, h2, h3, h4 { line-height: 1.25; } h2 { margin-top: 2rem; border-bottom: 1px solid #dee2e6; padding-bottom: .3rem; }
.anchor-link { visibility: hidden; margin-left: .4rem; color: #adb5bd; font-weight: normal; }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link, h4:hover .anchor-link { visibility: visible; }
pre { background: #f8f9fa; padding: .6rem .8rem; border-radius: 4px; overflow-x: auto; font-size: .85rem;
      line-height: 1.4; margin: .4rem 0; }
code { font-family: SFMono-Regular, Menlo, Monaco, Consolas, "Liberation Mono", monospace; font-size: .88em; }
:not(pre) > code { background: #f1f3f5; color: #7d12ba; padding: .1rem .25rem; border-radius: 3px; }
.cell { margin: 1rem 0; }
.cell-output-stderr pre { background: #fff5f5; }
.cell-output-error pre { background: #fff0f0; color: #a00; }
.cell-output-display img { max-width: 100%; height: auto; }
.cell-output.asis { margin-top: 1.2rem; }
.cell-output.asis > hr { margin: 1.5rem 0 .5rem; border: 0; border-top: 1px solid #dee2e6; }
.cell-output.asis h3 { margin-top: .3rem; font-family: SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.1rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border-bottom: 1px solid #dee2e6; padding: .3rem .6rem; text-align: left; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
details.code-fold > summary { cursor: pointer; color: #6c757d; font-size: .9rem; }
details.callout { border: 1px solid #dee2e6; border-left: 4px solid var(--accent); border-radius: 4px; padding: .4rem .9rem; margin: 1.5rem 0; }
details.callout > summary { cursor: pointer; font-weight: 600; font-size: 1.15rem; }
details.callout > summary p { display: inline; margin: 0; }
p, li, td, th, figcaption, h1, h2, h3, h4, .cell-output { overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; max-width: 100%; }
.table-wrap > table { margin: 0; }
figure.figure { margin: .4rem 0; }
figure.figure img { display: block; cursor: zoom-in; }
figure.figure figcaption { font-size: .9rem; color: #495057; margin-top: .3rem; }
figure.figure figcaption p { margin: .2rem 0; }
.lightbox { position: fixed; inset: 0; z-index: 100; background: rgba(255, 255, 255, .97); overflow: auto;
            cursor: zoom-out; padding: 1rem; }
.lightbox img { display: block; max-width: none; margin: 0 auto; }
.lightbox-hint { position: fixed; top: .4rem; right: 1rem; font-size: .8rem; color: #6c757d; background: #fff; padding: 0 .4rem; }
body.lightbox-open { overflow: hidden; }
.page-nav { display: flex; justify-content: space-between; gap: 1rem; margin-top: 3rem; padding-top: 1rem;
            border-top: 1px solid #dee2e6; font-size: .95rem; }
.page-nav a.next { margin-left: auto; text-align: right; }
.sidebar-toggle { display: none; background: none; border: 0; color: #fff; font-size: 1.4rem; cursor: pointer;
                  padding: 0 .6rem 0 0; line-height: 1; }
.navbar-title { margin-right: auto; }
.search { position: relative; margin: 0 1rem; }
.search input { width: 16rem; max-width: 40vw; padding: .25rem .5rem; border: 0; border-radius: 4px; font-size: .9rem; }
.search-results { position: absolute; right: 0; top: 2.1rem; width: min(34rem, 92vw); max-height: 70vh; overflow-y: auto;
                  background: #fff; border: 1px solid #dee2e6; border-radius: 4px; box-shadow: 0 4px 16px rgba(0,0,0,.15); z-index: 20; }
.search-results a.search-hit { display: block; padding: .4rem .7rem; border-bottom: 1px solid #f1f3f5; color: #343a40; font-weight: normal; }
.search-results a.search-hit:hover { background: #f1f3f5; text-decoration: none; }
.search-hit-title { color: var(--accent); font-weight: 600; font-size: .9rem; }
.search-hit-text { font-size: .8rem; color: #6c757d; }
.search-none { padding: .5rem .7rem; color: #6c757d; font-size: .9rem; }
@media (max-width: 1100px) { .page-layout { grid-template-columns: var(--sidebar-w) minmax(0, 1fr); } .toc-container { display: none; } }
@media (max-width: 760px) {
  .page-layout { grid-template-columns: 1fr; gap: 0; }
  .sidebar-toggle { display: block; }
  .sidebar { display: none; position: static; max-height: none; border-bottom: 1px solid #dee2e6; }
  body.sidebar-open .sidebar { display: block; }
  .search input { width: 9rem; }
  .navbar-repo { display: none; }
  h1.title { font-size: 1.6rem; }
}
"""


def _text(fragment):
    "Visible text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."
    t = re.sub(r'<(script|style)\b.*?</\1>', ' ', fragment, flags=re.S)
    t = re.sub(r'<a class="anchor-link".*?</a>', ' ', t, flags=re.S)
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', ' ', t))).strip()


def search_documents(pages, max_chars=6000):
    """The search index's documents (as Quarto's `search.json`): one per page section (split at `h2`/`h3`), with its
    page title, section heading, link and text. lunr indexes them in the browser on the first query (27 pages,
    about 500 sections: tens of milliseconds), so no Node or Python lunr is needed to build the site."""
    docs = []
    for p in pages:
        parts = re.split(r'(<h[23] id="[^"]+"[^>]*>.*?</h[23]>)', p.body, flags=re.S)
        sec, anchor = p.title, ''
        for part in parts:
            m = re.match(r'<h[23] id="([^"]+)"[^>]*>(.*?)</h[23]>', part, flags=re.S)
            if m: sec, anchor = _text(m.group(2)), m.group(1); continue
            text = _text(part)
            if not text and anchor: continue
            docs.append(dict(id=str(len(docs)), href=p.name + (f'#{anchor}' if anchor else ''), title=p.title,
                             section=sec, text=text[:max_chars]))
    return docs


class Site:
    def __init__(self, out, proc_dir=None, workers=2, skip_procs='', timeout=600):
        from nbdev.config import get_config
        self.cfg = get_config(path=ROOT)
        self.nbs_path = Path(self.cfg.nbs_path)
        self.out, self.workers, self.skip_procs, self.timeout = Path(out).resolve(), workers, skip_procs, timeout
        import tempfile
        self.proc_dir = Path(proc_dir).resolve() if proc_dir else Path(tempfile.mkdtemp(prefix='build_site_proc_'))
        host, base = self.cfg.get('doc_host', ''), self.cfg.get('doc_baseurl', '')
        self.base_url = (host.rstrip('/') + '/' + base.strip('/')).rstrip('/') + '/' if host else ''

    def build(self):
        t0 = time.time()
        katex = find_katex()
        nbs = notebooks(self.nbs_path)
        if not nbs: raise SystemExit(f'build_site: no notebooks in {self.nbs_path}')
        if self.out.exists(): shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        try:
            timings = process(nbs, self.proc_dir, self.workers, self.skip_procs, self.timeout)
            pages = [Page(nb, self.proc_dir / (nb.stem + '.ipynb'), page_name(nb, self.nbs_path), self, self.base_url).render()
                     for nb in nbs]
        finally: shutil.rmtree(self.proc_dir, ignore_errors=True)
        self.write_assets(katex)
        for p in pages: self.write_page(p, pages)
        docs = search_documents(pages)
        (self.out / 'search.json').write_text(json.dumps(docs, ensure_ascii=False), encoding='utf-8')
        manifest = [{'notebook': p.src.relative_to(self.nbs_path).as_posix(), 'page': p.name, 'title': p.title} for p in pages]
        (self.out / 'site.json').write_text(json.dumps({'pages': manifest}, indent=1), encoding='utf-8')
        print(f'built {len(pages)} pages into {self.out} in {time.time() - t0:.1f}s '
              f'(nbdev processing: {max(timings):.1f}s)')
        return pages

    def write_assets(self, katex):
        from pygments.formatters import HtmlFormatter
        libs = self.out / 'site_libs'
        shutil.copytree(katex, libs / 'katex', symlinks=False,
                        ignore=shutil.ignore_patterns('*.mjs', '*.ttf', 'katex.js', 'katex.css', 'mhchem*', 'copy-tex*', 'mathtex*', 'render-a11y*'))
        ar = libs / 'katex' / 'contrib'
        if not (ar / 'auto-render.min.js').exists(): shutil.copy(ar / 'auto-render.js', ar / 'auto-render.min.js')
        (libs / 'render-math.js').write_text(RENDER_MATH_JS, encoding='utf-8')
        (libs / 'site.css').write_text(SITE_CSS, encoding='utf-8')
        (libs / 'pygments.css').write_text(HtmlFormatter(style='friendly').get_style_defs('.highlight'), encoding='utf-8')
        shutil.copy(SITE_ASSETS / 'site.js', libs / 'site.js')
        shutil.copytree(SITE_ASSETS / 'lunr', libs / 'lunr')                    # lunr.min.js + its LICENSE
        if (self.nbs_path / 'assets').exists():                                 # the notebooks' own assets (explorer)
            shutil.copytree(self.nbs_path / 'assets', self.out / 'assets')
        styles = self.nbs_path / 'styles.css'
        (self.out / 'styles.css').write_text(styles.read_text(encoding='utf-8') if styles.exists() else '', encoding='utf-8')
        (self.out / '.nojekyll').write_text('')

    def write_page(self, page, pages):
        sidebar = '\n'.join(
            f'<li><a href="{p.name}" class="sidebar-link{" active" if p is page else ""}" data-notebook="{html.escape(p.src.name)}">{inline_md(p.title)}</a></li>'
            for p in pages)
        desc = f'<p class="description">{html.escape(page.description)}</p>' if page.description else ''
        i = pages.index(page)
        link = lambda q, cls, arrow: (f'<a class="{cls}" href="{q.name}" rel="{cls}">' + (arrow + ' ' if cls == 'prev' else '')
                                      + f'{inline_md(q.title)}' + (' ' + arrow if cls == 'next' else '') + '</a>')
        pager = ('<nav class="page-nav" aria-label="previous and next chapter">'
                 + (link(pages[i - 1], 'prev', '&larr;') if i > 0 else '<span></span>')
                 + (link(pages[i + 1], 'next', '&rarr;') if i + 1 < len(pages) else '<span></span>') + '</nav>')
        site_title = self.cfg.get('title', self.cfg.get('lib_name', ''))
        text = TEMPLATE.format(
            page_title=html.escape(page.title if page.name == 'index.html' else f'{page.title} – {site_title}'),
            meta_desc=html.escape(page.description), site_title=html.escape(site_title),
            repo_url=html.escape(self.cfg.get('git_url', '')), sidebar=sidebar, title=html.escape(page.title), title_html=inline_md(page.title),
            description=desc, body=page.body, toc=page.toc(), pager=pager)
        if '//cdn' in text or 'cdn.jsdelivr' in text:
            raise SystemExit(f'build_site: {page.name} would load from a CDN')
        (self.out / page.name).parent.mkdir(parents=True, exist_ok=True)
        (self.out / page.name).write_text(text, encoding='utf-8')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=str(ROOT / '_site'), help='output folder (default: _site, gitignored)')
    p.add_argument('--proc', default=None, help='scratch folder for the processed notebooks (default: a temporary folder, removed after the build)')
    p.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1), help='parallel nbdev processing')
    p.add_argument('--skip-procs', default=os.environ.get('BUILD_SITE_SKIP_PROCS', ''), help="extra nbdev processors to skip, comma-separated (on top of "
                   "settings.ini's skip_procs, which nbdev_docs honours too); leave empty to build as nbdev_docs does")
    p.add_argument('--timeout', type=int, default=600, help='seconds allowed for nbdev processing (per worker)')
    p.add_argument('--proc-many', nargs='+', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.proc_many: _proc_many(a.proc_many); return 0
    Site(a.out, a.proc, a.workers, a.skip_procs, a.timeout).build()
    return 0


if __name__ == '__main__':
    sys.exit(main())
