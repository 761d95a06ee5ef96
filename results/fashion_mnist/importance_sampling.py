# Bounds and IS log p(x) (k=5000) of the saved Fashion-MNIST checkpoint; test images in a seeded random order, blocks
# of 250, each block saved as it finishes (resumable), result_<samples>.json rewritten after every block. 1 thread.
import json, math, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from aevb_nb.datasets import load_dataset
from aevb_nb.runs import load_model, load_checkpoint
from aevb_nb.aevb import evaluate_bound
from aevb_nb.marginal import log_marginal_is
from aevb_nb.elbo import ESTIMATORS
from aevb_nb.sampling import seeded
OUT = Path('runs/fashion'); K, BLK = 5000, 250
st = load_checkpoint(OUT / 'checkpoint.pt'); samples = st['step'] * 100
model = load_model(OUT / 'checkpoint.pt').eval()
data = load_dataset('/usr/share/datasets/fashion-mnist')
assert abs(data.x_train.double().sum().item() - st['manifest']['data']['x_train_sum']) < 1e-3 * st['manifest']['data']['x_train_sum']
part = OUT / f'is_{samples}.json'
S = json.loads(part.read_text()) if part.exists() else {}
if 'bound_test' not in S:
    t = time.time()
    with torch.no_grad(), seeded(0):
        bt = torch.cat([ESTIMATORS['B'](model, xb, 1) for xb in data.x_test.split(1000)]).double()
        S['bound_train'] = evaluate_bound(model, data.x_train, 'B', 1, 1000, seed=0)
    S.update(bound_test_each=bt.tolist(), bound_test=bt.mean().item(), bound_time_s=time.time() - t, blocks={})
    part.write_text(json.dumps(S)); print('bounds', S['bound_test'], S['bound_train'], flush=True)
perm = torch.randperm(10000, generator=torch.Generator().manual_seed(0))
def write_result():
    done = sorted(int(b) for b in S['blocks'])
    idx = torch.cat([perm[b:b + BLK] for b in done]) if done else torch.zeros(0, dtype=torch.long)
    est = np.concatenate([S['blocks'][str(b)]['est'] for b in done]) if done else np.zeros(0)
    bnd = np.asarray(S['bound_test_each'])[idx.numpy()]
    n = len(est)
    res = dict(dataset='Fashion-MNIST (official split: 60,000 train / 10,000 test)', method='AEVB, paper MNIST protocol',
               n_z=20, n_hidden=500, lr=st['config']['lr'], samples=samples, threads=1,
               train_time_s=round(st['time'], 1), test_bound=S['bound_test'], train_bound=S['bound_train'],
               bound_units='lower bound (SGVB B, L=1), nats per datapoint; all 10,000 test / 60,000 train images',
               is_k=K, is_n=n, is_log_px=float(est.mean()) if n else None,
               is_se=float(est.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
               bound_same_images=float(bnd.mean()) if n else None,
               gap_is_minus_bound=float((est - bnd).mean()) if n else None,
               gap_se=float((est - bnd).std(ddof=1) / math.sqrt(n)) if n > 1 else None,
               is_time_s=round(sum(S['blocks'][str(b)]['time_s'] for b in done), 1),
               is_units=f'log p(x) (IS, k={K}, proposal q(z|x)), nats per datapoint; mean over the {n} test images '
                        'done (a seeded random order of the 10,000)')
    (OUT / f'result_{samples}.json').write_text(json.dumps(res, indent=1))
    return res
for b in range(0, 10000, BLK):
    if str(b) in S['blocks']: continue
    torch.manual_seed(1000 + b); t = time.time()
    with torch.no_grad(): est = log_marginal_is(model, data.x_test[perm[b:b + BLK]], k=K, batch_size=125)
    S['blocks'][str(b)] = dict(est=est.double().tolist(), time_s=time.time() - t)
    part.write_text(json.dumps(S)); r = write_result()
    print('IS', b, r['is_n'], r['is_log_px'], r['is_se'], r['gap_is_minus_bound'], round(time.time() - t), flush=True)
print(json.dumps(write_result(), indent=1))
