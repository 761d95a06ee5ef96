"""Throughput of aevb_nb on the machine it runs on, as ONE table of figures and ratios measured in the same run.

Rows (each ratio compares two measurements taken minutes apart in this one process, same threads, same device):

* ours vs a pytorch/examples `vae/main.py`-style loop (DataLoader + ToTensor), from `bench_trainer.py`;
* the paper model (784-500-20 tanh, Bernoulli decoder, estimator B, L=1, Adagrad, MAP prior, M=100) trained by
  `aevb_nb.aevb.train`: samples/s, its matmul GFLOP/s, and that as a fraction of the fp32 GEMM throughput measured
  here for exactly the step's matrix shapes (forward, weight gradients, input gradients);
* `precision='bf16'` (autocast matrix products, fp32 master weights / KL / likelihood / optimizer) vs fp32, with the
  lower bound each reaches after the same samples (a short run: a speed figure, not the parity experiment);
* G=5 paper models (seeds 0..4) in one stacked pass (`performance.train_many`) vs the same 5 trained one after another;
* 2-process gloo data parallelism (`distributed.spawn_data_parallel`, 1 thread per rank) vs 1 process with 1 thread
  and with 2 threads (the same total cores).

Then a per-op profile (torch.profiler) of paper-model AEVB steps. Data: the 10,000 MNIST test images (the loader's
'test-only' split: 9,000 train / 1,000 test), grey levels.

    python bench/bench_all.py [--data-dir DIR] [--threads 2] [--samples 30000] [--device auto] [--skip ddp]
"""
import argparse, json, os, sys, tempfile, time
from pathlib import Path
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def paper_vae(seed, dev):
    from aevb_nb.models import make_vae
    torch.manual_seed(seed)
    return make_vae(784, 20, 'bernoulli', dataset='mnist').to(dev)


def linears(model):
    "The nn.Linear layers of a VAE and whether each one's input is the data (no input gradient needed)."
    first = model.encoder.hidden[0] if len(model.encoder.hidden) else model.encoder.mu
    return [(m, m is first or (m is model.encoder.logvar and first is model.encoder.mu))
            for m in model.modules() if isinstance(m, nn.Linear)]


def step_flops(model, M):
    "Matrix-product FLOPs of one training step: forward, weight gradients, and input gradients (not for data layers)."
    f = 0
    for m, data_in in linears(model):
        mac = M * m.in_features * m.out_features
        f += 2 * mac * (2 if data_in else 3)
    return f


def gemm_throughput(model, M, dev, dtype=torch.float32, seconds=1.0):
    "FLOP/s of the step's matrix products alone (same shapes, fp32 or bf16), on preallocated operands."
    ops = []
    for m, data_in in linears(model):
        i, o = m.in_features, m.out_features
        X, W, dY = (torch.randn(*s, device=dev, dtype=dtype) for s in ((M, i), (o, i), (M, o)))
        ops += [(X, W.t()), (dY.t(), X)] + ([] if data_in else [(dY, W)])      # Y = X W^T, dW = dY^T X, dX = dY W
    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b in ops)
    for a, b in ops: torch.mm(a, b)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            for a, b in ops: torch.mm(a, b)
        n += 10
    sync(dev)
    return flops * n / (time.perf_counter() - t0)


def train_seconds(run_fn, dev):
    """Run `run_fn() -> history`; returns (history, training seconds). On CUDA: wall time minus evaluations, since the
    loop's `time` is read before the GPU has finished its queued steps."""
    t0 = time.perf_counter()
    h = run_fn()
    sync(dev)
    wall = time.perf_counter() - t0
    rows = h[0] if isinstance(h[0], list) else h                 # train_many: one history per model, same times
    return h, (rows[-1]['time'] if dev.type == 'cpu' else wall - sum(r['eval_time'] for r in rows))


def timed_train(model, data, cfg):
    "Train; returns (samples/s over training time, final train bound)."
    from aevb_nb.aevb import train
    h, t = train_seconds(lambda: train(model, data, cfg, progress=False), next(model.parameters()).device)
    return h[-1]['samples'] / t, h[-1]['train_bound']


def bench_paper(data, S, dev):
    from aevb_nb.loop import train_config
    cfg = lambda **kw: train_config('paper', dataset='mnist', n_samples=S, eval_every=S, eval_n=1000, seed=0,
                                    device=str(dev), **kw)
    timed_train(paper_vae(0, dev), data, train_config('paper', n_samples=2000, eval_n=10, device=str(dev)))  # warm-up
    fp32 = timed_train(paper_vae(0, dev), data, cfg())
    bf16 = timed_train(paper_vae(0, dev), data, cfg(precision='bf16'))
    return fp32, bf16


def bench_stack(data, S, dev, G=5):
    from aevb_nb.loop import train_config
    from aevb_nb.performance import train_many
    cfg = train_config('paper', dataset='mnist', n_samples=S, eval_every=S, eval_n=1000, device=str(dev))
    t_seq, b_seq = 0.0, []
    for g in range(G):
        sps, b = timed_train(paper_vae(g, dev), data, cfg.__class__(**{**cfg.__dict__, 'seed': g}))
        t_seq += S / sps; b_seq.append(b)
    hs, t_stack = train_seconds(lambda: train_many([paper_vae(g, dev) for g in range(G)], data, cfg, seeds=range(G),
                                                   progress=False), dev)
    return G * S / t_stack, G * S / t_seq, [h[-1]['train_bound'] for h in hs], b_seq


def bench_ddp(data, S, threads):
    from aevb_nb.loop import train_config
    from aevb_nb.distributed import spawn_data_parallel
    spec = dict(dataset='mnist', z_dim=20, model_seed=0,
                cfg=dict(preset='paper', dataset='mnist', n_samples=S, eval_every=S, eval_n=1000, seed=0))
    with tempfile.TemporaryDirectory() as tmp:
        res = spawn_data_parallel(2, [spec], f'{tmp}/out')
    h = res[0][0]['history']
    ddp = (h[-1]['samples'] / h[-1]['time'], h[-1]['train_bound'])
    out = {}
    for th in (1, 2):                                   # one rank's cores, and both ranks' cores in one process
        torch.set_num_threads(th)
        out[th] = timed_train(paper_vae(0, torch.device('cpu')), data,
                              train_config(**{k: v for k, v in spec['cfg'].items() if k != 'preset'}, device='cpu'))
    torch.set_num_threads(threads)
    return ddp, out


def profile_steps(data, dev, n=60):
    "Per-op self time of `n` paper-model AEVB steps (after 20 warm-up steps)."
    from torch.profiler import profile, ProfilerActivity
    from aevb_nb.aevb import AEVB
    from aevb_nb.loop import SimpleData, train_config
    x = data.x_train.to(dev)
    method = AEVB(paper_vae(0, dev))
    method.setup(SimpleData(x, None), train_config('paper', dataset='mnist', device=str(dev)))
    idx = torch.randint(len(x), (n + 20, 100), device=dev)
    for i in idx[:20]: method.step(x[i], i)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])
    with profile(activities=acts) as prof:
        for i in idx[20:]: method.step(x[i], i)
        sync(dev)
    ka = prof.key_averages()
    key = 'self_device_time_total' if dev.type == 'cuda' else 'self_cpu_time_total'
    tot = sum(getattr(e, key) for e in ka)
    groups = {'matrix products (addmm, mm, bmm)': ('aten::addmm', 'aten::mm', 'aten::bmm'),
              'Adagrad update (_foreach_* or its per-tensor sqrt_, addcmul_, addcdiv_)': (
                  'aten::_foreach_', 'aten::sqrt_', 'aten::addcmul_', 'aten::addcdiv_'),
              'Bernoulli log-likelihood (softplus, bce)': ('aten::softplus', 'aten::softplus_backward'),
              'tanh and its backward': ('aten::tanh', 'aten::tanh_backward'),
              'other elementwise and reductions (exp, mul, add(_), sub, sum, pow, neg)': (
                  'aten::exp', 'aten::mul', 'aten::add', 'aten::sub', 'aten::sum', 'aten::pow', 'aten::rsub',
                  'aten::neg'),
              'randn, index_select (noise and minibatch)': (
                  'aten::normal_', 'aten::randn', 'aten::index', 'aten::index_select')}
    share, seen = {}, set()
    for g, pats in groups.items():                      # each op counted once, in the first group that claims it
        mine = [e for e in ka if e.key not in seen and any(e.key == p or e.key.startswith(p + '_') or
                                                           (p.endswith('_') and e.key.startswith(p)) for p in pats)]
        seen |= {e.key for e in mine}
        share[g] = sum(getattr(e, key) for e in mine) / tot
    share['everything else (autograd bookkeeping, views, copies, allocation)'] = 1 - sum(share.values())
    table = ka.table(sort_by=key, row_limit=15, max_name_column_width=40)
    return share, table, tot / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = Path(__file__).resolve().parents[2] / 'shared' / 'data'
    p.add_argument('--data-dir', default=os.environ.get('AEVB_DATA', str(shared)))
    p.add_argument('--threads', type=int, default=1,
                   help='threads per process (1 on a shared machine: OpenMP threads spin)')
    p.add_argument('--samples', type=int, default=30_000, help='training samples per timed run')
    p.add_argument('--epochs', type=int, default=2, help='epochs of the pytorch/examples comparison')
    p.add_argument('--device', default='auto')
    p.add_argument('--skip', default='', help='comma-separated rows to skip: examples,paper,stack,ddp,profile')
    p.add_argument('--json', default=None)
    a = p.parse_args(argv)
    os.environ['AEVB_DATA'] = a.data_dir
    skip = set(filter(None, a.skip.split(',')))
    torch.set_num_threads(a.threads)
    auto = 'cuda' if torch.cuda.is_available() else 'cpu'
    dev = torch.device(auto if a.device == 'auto' else a.device)
    import warnings; warnings.filterwarnings('ignore', message='MNIST training images not found')
    from aevb_nb.data import load_dataset
    data = load_dataset('mnist')
    rows, res = [], dict(device=str(dev), threads=a.threads, torch=torch.__version__, samples=a.samples)
    t_start = time.perf_counter()

    if 'examples' not in skip:
        import bench_trainer as bt
        r = bt.main(['--data-dir', a.data_dir, '--epochs', str(a.epochs), '--threads', str(a.threads), '--repeats', '1',
                     '--device', str(dev)])
        rows.append(('ours / pytorch-examples-style loop (784-400-20 ReLU, Adam, M=128)',
                     f"{r['ours_samples_per_s']:,} / {r['reference_samples_per_s']:,} samples/s", f"{r['ratio']:.2f}x",
                     f"bounds {r['ours_bound']:.1f} / {r['reference_bound']:.1f}"))
        res['examples'] = r

    if 'paper' not in skip:
        model = paper_vae(0, dev)
        fl = step_flops(model, 100) / 100                                   # matmul FLOPs per training sample
        gemm32 = gemm_throughput(model, 100, dev, torch.float32)
        gemm16 = gemm_throughput(model, 100, dev, torch.bfloat16)
        (s32, b32), (s16, b16) = bench_paper(data, a.samples, dev)
        rows.append(('paper model, fp32: samples/s', f'{s32:,.0f}', '', f'bound {b32:.1f} after {a.samples:,} samples'))
        rows.append(('paper model, fp32: matmul GFLOP/s / fp32 GEMM GFLOP/s (same shapes)',
                     f'{s32 * fl / 1e9:.1f} / {gemm32 / 1e9:.1f}', f'{s32 * fl / gemm32:.2f}',
                     f'{fl / 1e6:.2f} MFLOP of matrix products per sample'))
        rows.append(('paper model, bf16 / fp32 samples/s', f'{s16:,.0f} / {s32:,.0f}', f'{s16 / s32:.2f}x',
                     f'bounds {b16:.1f} / {b32:.1f}'))
        rows.append(('bf16 / fp32 GEMM alone (same shapes)', f'{gemm16 / 1e9:.1f} / {gemm32 / 1e9:.1f} GFLOP/s',
                     f'{gemm16 / gemm32:.2f}x', 'the ceiling autocast could reach'))
        res['paper'] = dict(fp32_samples_per_s=s32, bf16_samples_per_s=s16, flop_per_sample=fl, gemm_fp32=gemm32,
                            gemm_bf16=gemm16, bound_fp32=b32, bound_bf16=b16)

    if 'stack' not in skip:
        s_stack, s_seq, bs, bq = bench_stack(data, a.samples, dev)
        rows.append(('5 paper models: one stacked pass / one after another (aggregate samples/s)',
                     f'{s_stack:,.0f} / {s_seq:,.0f}', f'{s_stack / s_seq:.2f}x',
                     f'bounds equal: {max(abs(x - y) for x, y in zip(bs, bq)):.1e} max difference'))
        res['stack'] = dict(stacked=s_stack, sequential=s_seq)

    if 'ddp' not in skip and dev.type == 'cpu':
        (s_ddp, b_ddp), single = bench_ddp(data, a.samples, a.threads)
        rows.append(('2-process gloo DDP (1 thread each) / 1 process, 1 thread', f'{s_ddp:,.0f} / {single[1][0]:,.0f}',
                     f'{s_ddp / single[1][0]:.2f}x', f'bounds {b_ddp:.2f} / {single[1][1]:.2f}'))
        rows.append(('2-process gloo DDP / 1 process, 2 threads', f'{s_ddp:,.0f} / {single[2][0]:,.0f}',
                     f'{s_ddp / single[2][0]:.2f}x', 'same cores in total'))
        res['ddp'] = dict(ddp=s_ddp, single={str(k): v[0] for k, v in single.items()})

    print(f'\n| measurement | figures | ratio | note |\n|---|---|---|---|')
    for r in rows: print('| ' + ' | '.join(r) + ' |')
    print(f"\n(device {dev}, {a.threads} threads, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs visible, {time.perf_counter() - t_start:.0f} s)")

    if 'profile' not in skip:
        share, table, per_step = profile_steps(data, dev)
        print(f'\nWhere one paper-model AEVB step goes ({per_step / 1e3:.2f} ms of self time per step):')
        for g, v in sorted(share.items(), key=lambda kv: -kv[1]): print(f'  {v:6.1%}  {g}')
        print(table)
        res['profile'] = share
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=float))
    return res


if __name__ == '__main__':
    main()
