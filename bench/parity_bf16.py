"""bf16 parity, measured: the paper model (MNIST, N_z=20, paper preset) trained for 10^6 samples with 3 seeds in fp32
and in bf16 (the fused step's bfloat16 products), one run after another, each resumable (a run folder per run under
`--work`). Appends one CSV row per finished run to `--out`, then prints the table: final train and test bounds, and
whether the bf16 - fp32 difference of the seed means is inside the seed-to-seed spread.

    python bench/parity_bf16.py [--samples 1000000] [--seeds 0 1 2] [--threads 1] [--work runs/parity]
"""
import argparse, csv, os, statistics, sys, time
from pathlib import Path
import torch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--samples', type=int, default=1_000_000)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work', default='runs/parity')
    p.add_argument('--out', default='results/bf16_parity.csv')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    for root in Path(__file__).resolve().parents[1:3]:               # the checkout's shared/, or its parent's
        if (root / 'shared' / 'data').exists(): os.environ.setdefault('AEVB_DATA', str(root / 'shared' / 'data'))
    from aevb_nb.datasets import load_dataset
    from aevb_nb.models import make_vae
    from aevb_nb.config import train_config
    from aevb_nb.aevb import train
    data = load_dataset('mnist')
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    keys = ['precision', 'seed', 'samples', 'train_bound', 'test_bound', 'train_seconds', 'n_train', 'n_test']
    done = {(r['precision'], int(r['seed'])) for r in csv.DictReader(open(out))} if out.exists() else set()
    for prec in ('fp32', 'bf16'):
        for seed in a.seeds:
            if (prec, seed) in done: continue
            torch.manual_seed(seed)
            model = make_vae(data.x_train.shape[1], 20, data.likelihood, preset='paper', dataset='mnist')
            cfg = train_config('paper', dataset='mnist', n_samples=a.samples, eval_every=a.samples,
                               checkpoint_every=a.samples // 10, seed=seed, precision=prec, device='cpu')
            folder = Path(a.work) / f'{prec}_s{seed}'
            h = train(model, data, cfg, out_dir=folder, resume=True, progress=False)
            row = dict(precision=prec, seed=seed, samples=h[-1]['samples'], train_bound=h[-1]['train_bound'],
                       test_bound=h[-1]['test_bound'], train_seconds=round(h[-1]['time'], 1),
                       n_train=len(data.x_train), n_test=len(data.x_test))
            new = not out.exists()
            with open(out, 'a', newline='') as f:
                w = csv.DictWriter(f, keys)
                if new: w.writeheader()
                w.writerow(row)
            print(f'{prec} seed {seed}: train {row["train_bound"]:.2f}, test {row["test_bound"]:.2f} '
                  f'({row["train_seconds"]} s)', file=sys.stderr, flush=True)
    rows = list(csv.DictReader(open(out)))
    print('| precision | seeds | train bound (each) | test bound (each) | train mean | test mean |')
    print('|---|---|---|---|---|---|')
    stats = {}
    for prec in ('fp32', 'bf16'):
        rs = [r for r in rows if r['precision'] == prec]
        if not rs: continue
        tr, te = [float(r['train_bound']) for r in rs], [float(r['test_bound']) for r in rs]
        stats[prec] = (tr, te)
        print(f"| {prec} | {', '.join(r['seed'] for r in rs)} | {', '.join(f'{v:.2f}' for v in tr)} | "
              f"{', '.join(f'{v:.2f}' for v in te)} | {statistics.mean(tr):.2f} | {statistics.mean(te):.2f} |")
    if len(stats) == 2 and all(len(v[0]) > 1 for v in stats.values()):
        for i, name in enumerate(('train', 'test')):
            d = statistics.mean(stats['bf16'][i]) - statistics.mean(stats['fp32'][i])
            spread = max(max(v[i]) - min(v[i]) for v in stats.values())
            print(f'{name}: bf16 - fp32 = {d:+.2f} nats; seed-to-seed range (largest of the two) {spread:.2f}: '
                  f'{"inside" if abs(d) <= spread else "outside"} the spread')


if __name__ == '__main__':
    main()
