"""Throughput of aevb_nb on the machine it runs on, as ONE table of figures and ratios measured in the same run.

Rows (each ratio compares two measurements taken minutes apart in this one process, same threads, same device):

* peers, same model and data (784-400-20 ReLU, Bernoulli, Adam 1e-3, M=128, fp32): aevb_nb with its fused step, with
  the autograd step, a plain PyTorch loop on a resident tensor (`bench_trainer.run_inmemory`) and, where installed,
  pythae (`pythae.models.VAE` over that loop's networks, trained by its `TrainingPipeline`) and Pyro (the VAE
  tutorial's model and guide, `SVI` + `Trace_ELBO` + `pyro.optim.Adam`); every bound is `aevb_nb.aevb.evaluate_bound`
  (estimator B, analytic KL) on the weights each trained. The optional peers live in their own environment, which
  reuses the installed torch (pip must not replace it):

      python -m venv --system-site-packages ~/.venvs/aevb-peers
      ~/.venvs/aevb-peers/bin/pip install -r bench/requirements-peers.txt
      ~/.venvs/aevb-peers/bin/python bench/bench_all.py --skip examples,paper,stack,ddp,profile

  (chapter 16 runs the whole benchmark with that Python when AEVB_BENCH_PYTHON names it);

* ours vs a pytorch/examples `vae/main.py`-style loop (DataLoader + ToTensor), from `bench_trainer.py`;
* the paper model (784-500-20 tanh, Bernoulli decoder, estimator B, L=1, Adagrad, MAP prior, M=100) trained by
  `aevb_nb.aevb.train` with the fused step and with the autograd step: samples/s, matmul GFLOP/s, and that as a
  fraction of the fp32 GEMM throughput measured here for exactly the step's matrix shapes (forward, weight gradients,
  input gradients);
* `precision='bf16'` (autocast matrix products, fp32 master weights / KL / likelihood / optimizer) vs fp32, with the
  lower bound each reaches after the same samples (a short run: a speed figure, not the parity experiment);
* G=5 paper models (seeds 0..4) in one stacked pass (`performance.train_many`) vs the same 5 trained one after another;
* 2-process gloo data parallelism (`tools/ddp_spawn.py`, 1 thread per rank) vs 1 process with 1 thread
  and with 2 threads (the same total cores).

Then a per-op profile (torch.profiler) of paper-model AEVB steps, fused and autograd. Data: the 10,000 MNIST test
images (the loader's 'test-only' split: 9,000 train / 1,000 test), grey levels.

    python bench/bench_all.py [--data-dir DIR] [--threads 2] [--samples 30000] [--device auto] [--skip ddp]
"""
import argparse, contextlib, io, json, os, sys, tempfile, time
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
    "{(step, precision): (samples/s, train bound)} of the paper model, step 'fused' / 'autograd', fp32 / bf16."
    from aevb_nb.config import train_config
    cfg = lambda **kw: train_config('paper', dataset='mnist', n_samples=S, eval_every=S, eval_n=1000, seed=0,
                                    device=str(dev), **kw)
    out = {}
    for step in ('fused', 'autograd'):
        for prec in ('fp32', 'bf16'):
            timed_train(paper_vae(0, dev), data, train_config('paper', n_samples=1000, eval_n=10, device=str(dev),
                                                              step=step, precision=prec))       # warm-up
            out[step, prec] = timed_train(paper_vae(0, dev), data, cfg(step=step, precision=prec))
    return out


def ours_from(net):
    "An aevb_nb `pytorch-examples` VAE holding the weights of a trained `bench_trainer.RefVAE` (same layers)."
    from aevb_nb.models import make_vae
    m = make_vae(784, 20, 'bernoulli', preset='pytorch-examples').to(next(net.parameters()).device)
    pairs = zip((m.encoder.hidden[0], m.encoder.mu, m.encoder.logvar, m.decoder.hidden[0], m.decoder.out),
                (net.fc1, net.fc21, net.fc22, net.fc3, net.fc4))
    for mine, theirs in pairs: mine.load_state_dict(theirs.state_dict())
    return m


def run_pythae(x, epochs, dev, seed):
    "pythae's `VAE` over a `RefVAE`, trained by its `TrainingPipeline` (its DataLoader, Adam 1e-3, M=128)."
    import bench_trainer as bt, logging
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig
    from pythae.trainers.training_callbacks import TrainingCallback

    class Encoder(BaseEncoder):
        def __init__(self, net): super().__init__(); self.net = net
        def forward(self, x):
            mu, logvar = self.net.encode(x)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):         # the same net: model.parameters() yields each parameter once
        def __init__(self, net): super().__init__(); self.net = net
        def forward(self, z): return ModelOutput(reconstruction=self.net.decode(z))

    class Clock(TrainingCallback):      # the training epochs, not the set-up and the final model's save
        def on_train_begin(self, training_config, **kw): self.t0 = time.perf_counter()
        def on_epoch_end(self, training_config, **kw): sync(dev); self.t = time.perf_counter() - self.t0

    torch.manual_seed(seed)
    net, clock = bt.RefVAE().to(dev), Clock()
    vae = VAE(VAEConfig(input_dim=(784,), latent_dim=20, reconstruction_loss='bce'), Encoder(net), Decoder(net))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = BaseTrainerConfig(output_dir=tmp, num_epochs=epochs, learning_rate=1e-3, per_device_train_batch_size=128,
                                optimizer_cls='Adam', seed=seed, no_cuda=dev.type != 'cuda')
        logging.disable(logging.INFO)   # pythae logs its configuration at every call
        try:
            with contextlib.redirect_stdout(io.StringIO()):   # its progress bars: kept out of the benchmark's table
                TrainingPipeline(model=vae, training_config=cfg)(train_data=x.cpu(), callbacks=[clock])
        finally: logging.disable(logging.NOTSET)
    return net, epochs * len(x), clock.t


def run_pyro(x, epochs, dev, seed):
    "Pyro's VAE tutorial (model, guide, SVI, Trace_ELBO, pyro.optim.Adam 1e-3) over a `RefVAE`, M=128 from x."
    import bench_trainer as bt, pyro, pyro.distributions as dist
    from pyro.infer import SVI, Trace_ELBO
    pyro.set_rng_seed(seed); pyro.clear_param_store()
    net = bt.RefVAE().to(dev)

    def model(x):
        pyro.module('vae', net)     # the tutorial registers its decoder here, its encoder in the guide: one net here
        with pyro.plate('data', len(x)):
            z = pyro.sample('latent', dist.Normal(x.new_zeros(len(x), 20), x.new_ones(len(x), 20)).to_event(1))
            pyro.sample('obs', dist.Bernoulli(net.decode(z), validate_args=False).to_event(1), obs=x)

    def guide(x):
        pyro.module('vae', net)
        with pyro.plate('data', len(x)):
            mu, logvar = net.encode(x)
            pyro.sample('latent', dist.Normal(mu, torch.exp(0.5 * logvar)).to_event(1))

    svi = SVI(model, guide, pyro.optim.Adam({'lr': 1e-3}), loss=Trace_ELBO())
    n, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        for idx in torch.randperm(len(x), device=dev).split(128):
            svi.step(x[idx]); n += len(idx)
    sync(dev)
    return net, n, time.perf_counter() - t0


def optional_peers():
    "{name: run function} of the peer libraries importable here; one line for each that is not."
    import importlib
    out = {}
    for name, fn in (('pythae', run_pythae), ('pyro', run_pyro)):
        try: importlib.import_module(name); out[name] = fn
        except Exception as e:
            print(f'peers: no {name} row ({type(e).__name__}: {e}); to add it: pip install -r '
                  f'bench/requirements-peers.txt (in a venv that keeps torch: see bench_all.py\'s docstring)')
    return out


def bench_peers(data_dir, S, dev, seed=1):
    """{name: (samples/s, bound)}: aevb_nb fused / autograd, a plain PyTorch loop on a resident tensor and the optional
    peer libraries, same model; every bound by `evaluate_bound` on the weights trained."""
    import bench_trainer as bt
    import numpy as np
    from aevb_nb.aevb import evaluate_bound
    images = bt.load_idx_images(data_dir)
    x = torch.from_numpy(images.reshape(-1, 784).astype(np.float32) / 255.).to(dev)
    epochs = max(1, round(S / len(x)))
    runs = {'plain': bt.run_inmemory, **optional_peers()}
    for fn in runs.values(): fn(x[:1280], 1, dev, seed)                                          # warm-up
    bt.run_ours(x, 1280, dev, seed)
    out = {}
    for name, fn in runs.items():
        net, n, t = fn(x, epochs, dev, seed)
        out[name] = (n / t, evaluate_bound(ours_from(net), x, 'B', 1, 1000, seed=seed))
    for step in ('fused', 'autograd'):
        m, n, t, _ = bt.run_ours(x, epochs * len(x), dev, seed, step=step)
        out[step] = (n / t, evaluate_bound(m, x, 'B', 1, 1000, seed=seed))
    return out, epochs * len(x)


def bench_stack(data, S, dev, G=5):
    from aevb_nb.config import train_config
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
    from aevb_nb.config import train_config
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))
    from ddp_spawn import spawn_data_parallel
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


def profile_steps(data, dev, n=60, step='autograd'):
    "Per-op self time of `n` paper-model AEVB steps (after 20 warm-up steps) with the `step` given."
    from torch.profiler import profile, ProfilerActivity
    from aevb_nb.aevb import AEVB
    from aevb_nb.loop import SimpleData
    from aevb_nb.config import train_config
    x = data.x_train.to(dev)
    method = AEVB(paper_vae(0, dev))
    method.setup(SimpleData(x, None), train_config('paper', dataset='mnist', device=str(dev), step=step))
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
                  'aten::_foreach_', 'aten::sqrt_', 'aten::addcmul_', 'aten::addcdiv_', 'aten::lerp_'),
              'Bernoulli log-likelihood (softplus, sigmoid, their backward)': (
                  'aten::softplus', 'aten::softplus_backward', 'aten::sigmoid'),
              'tanh and its backward': ('aten::tanh', 'aten::tanh_', 'aten::tanh_backward'),
              'other elementwise and reductions (exp, mul, add(_), sub, sum, pow, neg)': (
                  'aten::exp', 'aten::mul', 'aten::add', 'aten::sub', 'aten::sum', 'aten::pow', 'aten::rsub',
                  'aten::neg', 'aten::addcmul', 'aten::div', 'aten::vdot', 'aten::sigmoid_backward'),
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
    p.add_argument('--skip', default='', help='comma-separated rows to skip: peers,examples,paper,stack,ddp,profile')
    p.add_argument('--json', default=None)
    a = p.parse_args(argv)
    os.environ['AEVB_DATA'] = a.data_dir
    skip = set(filter(None, a.skip.split(',')))
    torch.set_num_threads(a.threads)
    auto = 'cuda' if torch.cuda.is_available() else 'cpu'
    dev = torch.device(auto if a.device == 'auto' else a.device)
    import warnings; warnings.filterwarnings('ignore', message='MNIST training images not found')
    from aevb_nb.datasets import load_dataset
    data = load_dataset('mnist')
    rows, res = [], dict(device=str(dev), threads=a.threads, torch=torch.__version__, samples=a.samples)
    t_start = time.perf_counter()

    if 'peers' not in skip:
        peers, n_peer = bench_peers(a.data_dir, a.samples, dev)
        (sf, bf), (sa, ba), (sp, bp) = peers['fused'], peers['autograd'], peers['plain']
        rows.append(('peers (784-400-20 ReLU, Adam, M=128): aevb_nb fused / autograd / plain PyTorch loop, samples/s',
                     f'{sf:,.0f} / {sa:,.0f} / {sp:,.0f}', f'{sf / sp:.2f}x, {sa / sp:.2f}x',
                     f'ratios to the plain loop; bounds {bf:.1f} / {ba:.1f} / {bp:.1f} after {n_peer:,} samples'))
        for name, what in (('pythae', 'pythae VAE + TrainingPipeline'), ('pyro', 'Pyro SVI + Trace_ELBO (tutorial)')):
            if name in peers:
                sx, bx = peers[name]
                rows.append((f'peers: {what} / plain PyTorch loop, samples/s', f'{sx:,.0f} / {sp:,.0f}',
                             f'{sx / sp:.2f}x', f'bounds {bx:.1f} / {bp:.1f} after {n_peer:,} samples'))
        res['peers'] = {k: dict(samples_per_s=v[0], bound=v[1]) for k, v in peers.items()}

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
        pr = bench_paper(data, a.samples, dev)
        (s32, b32), (sa32, ba32) = pr['fused', 'fp32'], pr['autograd', 'fp32']
        rows.append(('paper model, fp32: fused / autograd step, samples/s', f'{s32:,.0f} / {sa32:,.0f}',
                     f'{s32 / sa32:.2f}x', f'bounds {b32:.1f} / {ba32:.1f} after {a.samples:,} samples'))
        for name, s in (('fused', s32), ('autograd', sa32)):
            rows.append((f'paper model, fp32, {name}: matmul GFLOP/s / fp32 GEMM GFLOP/s (same shapes)',
                         f'{s * fl / 1e9:.1f} / {gemm32 / 1e9:.1f}', f'{s * fl / gemm32:.2f}',
                         f'{fl / 1e6:.2f} MFLOP of matrix products per sample'))
        for name in ('fused', 'autograd'):
            (s16, b16), (s, b) = pr[name, 'bf16'], pr[name, 'fp32']
            rows.append((f'paper model, {name}: bf16 / fp32 samples/s', f'{s16:,.0f} / {s:,.0f}', f'{s16 / s:.2f}x',
                         f'bounds {b16:.1f} / {b:.1f}; bf16 matmul GFLOP/s / bf16 GEMM: {s16 * fl / gemm16:.2f}'))
        rows.append(('bf16 / fp32 GEMM alone (same shapes)', f'{gemm16 / 1e9:.1f} / {gemm32 / 1e9:.1f} GFLOP/s',
                     f'{gemm16 / gemm32:.2f}x', 'the ceiling bf16 could reach'))
        res['paper'] = dict(flop_per_sample=fl, gemm_fp32=gemm32, gemm_bf16=gemm16,
                            runs={f'{k[0]}-{k[1]}': dict(samples_per_s=v[0], bound=v[1]) for k, v in pr.items()})

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
        res['profile'] = {}
        for step in ('fused', 'autograd'):
            share, table, per_step = profile_steps(data, dev, step=step)
            print(f'\nWhere one paper-model AEVB step goes, {step} step ({per_step / 1e3:.2f} ms of self time a step):')
            for g, v in sorted(share.items(), key=lambda kv: -kv[1]): print(f'  {v:6.1%}  {g}')
            print(table)
            res['profile'][step] = share
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=float))
    return res


if __name__ == '__main__':
    main()
