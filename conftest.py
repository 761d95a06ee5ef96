"""pytest collects every notebook in `nbs/` as one test and runs it the way `nbdev_test` does.

The tests of aevb_nb are notebook cells. This plugin hands each notebook to `nbdev.test.test_nb`
(the function behind `nbdev_test`), skipping cells flagged with a test flag from `settings.ini`
(`tst_flags`, e.g. `#| slow`), so `pytest` and `nbdev_test` run exactly the same cells and
pytest prints its usual closing line. Run flagged cells too with `pytest --nb-flags slow`. Cells flagged `#| data` need
the real datasets (MNIST, Frey Face); they run whenever the data folder is found ($AEVB_DATA or ../shared/data).
"""
import os
from configparser import ConfigParser
from pathlib import Path

import pytest

ROOT = Path(__file__).parent


def _tst_flags():
    cfg = ConfigParser(delimiters=['='])
    cfg.read(ROOT / 'settings.ini', encoding='utf-8')
    return cfg['DEFAULT'].get('tst_flags', '').split()   # space-separated, exactly as nbdev_test reads it


def _data_dir():
    "The real-data folder (`$AEVB_DATA`, else the repository's sibling `shared/data`) if it holds MNIST, else None."
    for d in (os.environ.get('AEVB_DATA'), ROOT.parent / 'shared' / 'data'):
        if d and (Path(d) / 'mnist' / 't10k-images-idx3-ubyte.gz').exists(): return Path(d)
    return None


def pytest_addoption(parser):
    parser.addoption('--nb-flags', default='', help="test flags to run as well (e.g. 'slow'), space-separated")


def pytest_collect_file(parent, file_path):
    if file_path.suffix == '.ipynb' and file_path.parent.name == 'nbs' and not file_path.name.startswith(('_', '.')):
        return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name=self.path.stem)


class NotebookFailed(Exception):
    pass


class NotebookItem(pytest.Item):
    def runtest(self):
        from nbdev.test import test_nb
        force = self.config.getoption('--nb-flags').split()
        if _data_dir() is not None: force.append('data')        # cells that need the real datasets run where they are
        os.environ.setdefault('MPLBACKEND', 'Agg')
        import torch                                    # notebooks share this process: restore global torch state
        grad, threads = torch.is_grad_enabled(), torch.get_num_threads()
        try: ok, secs = test_nb(self.path, skip_flags=_tst_flags(), force_flags=force, showerr=True)
        finally: torch.set_grad_enabled(grad); torch.set_num_threads(threads)
        if not ok:
            raise NotebookFailed(f'{self.path.name}: a cell raised (traceback above, on stderr)')

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailed): return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f'notebook {self.path.name}'
