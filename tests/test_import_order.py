"""Notebook order is import order: no module of aevb_nb imports a module exported from a later-numbered notebook.

Each exported module names its notebook in its header (`File to edit: ../nbs/NN_name.ipynb`). This test parses every
module with `ast`, maps it and everything it imports from `aevb_nb` to those numbers, and fails on an import of a
later (or the same-numbered but different) notebook, on `importlib`, and on imports of aevb_nb inside functions
(which would dodge the order where a reader and static tools cannot see it) everywhere but in `cli`, the console
script, which imports the library inside its commands so that `aevb --help` starts without torch; the order check
applies to those imports too.
"""
import ast, re
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / 'aevb_nb'


def notebook_key(name):
    "The order of a notebook file name: `07_loop.ipynb` -> (7, ''), `24a_prior.ipynb` -> (24, 'a'); None if unnumbered."
    m = re.match(r'(\d+)([a-z]*)_[\w-]+\.ipynb$', name)
    return (int(m.group(1)), m.group(2)) if m else None


def notebook_numbers():
    "Module -> order key of the notebook it is exported from; every exported module must name a numbered notebook."
    nums = {}
    for f in LIB.glob('*.py'):
        m = re.search(r'File to edit: \.\./nbs/(\S+\.ipynb)', f.read_text(encoding='utf-8'))
        if not m: continue
        key = notebook_key(m.group(1))
        assert key is not None, f'{f.name} comes from {m.group(1)}, which has no number: name it like 07a_name'
        nums[f.stem] = key
    return nums


def aevb_imports(tree):
    "(module imported, line, inside a function?) for every import of an aevb_nb module."
    out = []
    def visit(node, in_func):
        for child in ast.iter_child_nodes(node):
            f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                mod = ('aevb_nb.' if child.level else '') + (child.module or '')
                if mod.startswith('aevb_nb'):
                    names = [mod.split('.')[1]] if '.' in mod else [a.name for a in child.names]
                    out.extend((n, child.lineno, f) for n in names)
            elif isinstance(child, ast.Import):
                out.extend((a.name.split('.')[1], child.lineno, f) for a in child.names if a.name.startswith('aevb_nb.'))
            visit(child, f)
    visit(tree, False)
    return out


def test_modules_import_only_earlier_notebooks():
    nums = notebook_numbers()
    assert len(nums) >= 14, f'expected the exported modules with notebook headers, found {sorted(nums)}'
    bad = []
    for mod, n in nums.items():
        src = (LIB / f'{mod}.py').read_text(encoding='utf-8')
        if 'importlib' in src: bad.append(f'{mod}.py uses importlib')
        for dep, line, in_func in aevb_imports(ast.parse(src)):
            if dep not in nums: continue                       # e.g. __version__ from the package itself
            if in_func and mod != 'cli':                      # cli: lazy, so `aevb --help` needs no torch; order holds
                bad.append(f'{mod}.py:{line} imports aevb_nb.{dep} inside a function')
            if dep != mod and nums[dep] >= n:
                bad.append(f'{mod}.py:{line} (notebook {n}) imports aevb_nb.{dep} (notebook {nums[dep]})')
    assert not bad, 'notebook order must be import order:\n' + '\n'.join(bad)


def test_checker_catches_a_late_import():
    tree = ast.parse('from .cli import main\ndef f():\n    from aevb_nb.loop import run\n')
    assert aevb_imports(tree) == [('cli', 1, False), ('loop', 3, True)]


def test_lettered_notebooks_are_ordered():
    assert notebook_key('06a_given_noise.ipynb') == (6, 'a') and notebook_key('x.ipynb') is None
    keys = [notebook_key(n) for n in ('06_optim.ipynb', '06a_x.ipynb', '06b_x.ipynb', '07_loop.ipynb')]
    assert keys == sorted(keys)
