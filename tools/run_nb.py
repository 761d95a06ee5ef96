"""Execute notebooks in place and save their outputs (what the docs site shows).

    python tools/run_nb.py nbs/03_elbo.ipynb [more.ipynb ...] [--skip slow] [--run-id CELL_ID ...]

Every code cell runs, flagged ones (`#| slow`) included, unless `--skip FLAG` names their flag:
then those cells are left untouched and keep the outputs of their last real run, except the cells
whose ids `--run-id` names (e.g. one new slow cell, run without re-running the others). Uses execnb,
the engine behind `nbdev_test`, so no Jupyter kernel is needed. Run `nbdev_clean` afterwards.
"""
import argparse, os, sys, time
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='+')
    p.add_argument('--skip', action='append', default=[], help='flag whose cells are not run (outputs kept)')
    p.add_argument('--run-id', action='append', default=[], help='id of a skipped cell to run anyway')
    a = p.parse_args(argv)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor, extract_directives
    skip = set(a.skip)

    def pre(cell):
        if cell.cell_type != 'code': return True
        direc = extract_directives(cell, remove=False) if skip else {}
        return bool(skip & set(direc)) and cell.get('id') not in a.run_id

    bad = 0
    for nb in a.notebooks:
        nb = Path(nb).resolve(); t = time.time()
        sh = CaptureShell(nb)
        try:
            sh.execute(nb, nb, exc_stop=True, preproc=pre)
            print(f'ok   {nb.name} ({time.time()-t:.1f}s)')
        except Exception:
            print(sh.prettytb(fname=nb), file=sys.stderr); print(f'FAIL {nb.name}'); bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
