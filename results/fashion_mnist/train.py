# Fashion-MNIST: AEVB under the paper's MNIST protocol, N_z=20, 1 thread; resumable (run from the repository root).
import json, math, sys, time, warnings
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from aevb_nb.datasets import read_idx
from aevb_nb.data import Dataset
from aevb_nb.models import make_vae
from aevb_nb.config import train_config
from aevb_nb.loop import run
from aevb_nb.runs import load_model
from aevb_nb.aevb import AEVB, evaluate_bound
from aevb_nb.experiments import INIT_STD, ADAGRAD_WARMUP, STEPSIZES, select_stepsize
from aevb_nb.marginal import log_marginal_is

SRC = Path('/usr/share/datasets/fashion-mnist')
OUT = Path('runs/fashion'); N_SAMPLES = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10 ** 7
f = lambda n: torch.from_numpy(read_idx(SRC / n).reshape(-1, 784).astype(np.float32) / 255.)
y = lambda n: torch.from_numpy(read_idx(SRC / n).astype(np.int64))
data = Dataset('fashion-mnist', f('train-images-idx3-ubyte.gz'), f('t10k-images-idx3-ubyte.gz'), (28, 28), 'bernoulli',
               dict(source='Fashion-MNIST IDX files (Debian dataset-fashion-mnist)', split='official',
                    preprocessing='pixel/255, grey levels as Bernoulli probabilities', binarization='none'),
               y('train-labels-idx1-ubyte.gz'), y('t10k-labels-idx1-ubyte.gz'))
def mk():
    torch.manual_seed(0)
    return AEVB(make_vae(784, 20, 'bernoulli', preset='paper', n_hidden=500, init_std=INIT_STD))
cfg = train_config('paper', n_samples=N_SAMPLES, seed=0, eval_per_decade=5, eval_n=1000, device='cpu',
                   adagrad_warmup=ADAGRAD_WARMUP, checkpoint_every=500_000)
sel = OUT / 'stepsize.json'
if sel.exists(): lr = json.loads(sel.read_text())['lr']
else:
    t0 = time.time(); lr, scores = select_stepsize(mk, data, cfg, STEPSIZES)
    OUT.mkdir(parents=True, exist_ok=True)
    sel.write_text(json.dumps(dict(lr=lr, scores={str(k): v for k, v in scores.items()}, time_s=time.time() - t0)))
print('lr', lr, flush=True)
cfg = train_config('paper', lr=lr, n_samples=N_SAMPLES, seed=0, eval_per_decade=5, eval_n=1000, device='cpu',
                   adagrad_warmup=ADAGRAD_WARMUP, checkpoint_every=500_000)
t0 = time.time()
hist = run(mk(), data, cfg, OUT, resume=True, progress=False)
print('trained', hist[-1], 'wall', time.time() - t0, flush=True)
