"""Export the decoders of trained N_z = 2 models for the docs site's latent explorer (chapter 24, Figures 4-5).

    python tools/export_explorer.py --mnist RUN_DIR --frey RUN_DIR [--data-dir DIR] [--out nbs/assets/latent_explorer_data.js]

Each RUN_DIR is a run folder of `aevb reproduce fig4` (`runs/reproduce/<curve key>/` with `checkpoint.pt`,
`metrics.csv`). For each model the asset holds:

- the decoder mean network, in fp16: $h=\\tanh(W_1z+b_1)$, then $y=\\mathrm{sigmoid}(W_2h+b_2)$ (MNIST: Bernoulli
  probabilities; Frey Face: the sigmoid Gaussian mean, eq. 12; the log-variance head is not needed for the mean image);
- the posterior means $\\mu_\\phi(x)$ of the training and test images, mapped to the prior-quantile square by $\\Phi$
  (the coordinates of Figure 4), in fp16, with MNIST's digit labels;
- reference outputs of the float32 PyTorch decoder at fixed $z$, so the browser test can compare the JavaScript
  forward pass with PyTorch (tolerance `TOL`), and where the model came from (run, samples, bounds, checkpoint hash).

The asset is a plain script (`window.AEVB_EXPLORER_DATA = {...}`), so the page also works opened from disk.
"""
import argparse, base64, csv, hashlib, json, sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'nbs' / 'assets' / 'latent_explorer_data.js'
TOL = 0.01           # max |JS image - PyTorch image| per pixel, on the [0, 1] scale (fp16 weights; measured ~1e-3)
MAX_BYTES = 2_000_000
REF_Z = [(0.0, 0.0), (1.2, -0.8), (-1.8, 1.5), (0.4, 2.2)]
VAR = 'AEVB_EXPLORER_DATA'


def b64(a, dtype):
    "Little-endian bytes of `a` as `dtype`, base64 (what the page decodes into a typed array)."
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder('<')).tobytes()).decode()


def unb64(s, dtype, shape=None):
    a = np.frombuffer(base64.b64decode(s), dtype=np.dtype(dtype).newbyteorder('<')).astype(np.float32 if 'f' in dtype else dtype)
    return a.reshape(shape) if shape else a


def decoder_arrays(model):
    "The decoder-mean layers of a `VAE` as float32 numpy arrays: W1 (H, 2), b1 (H,), W2 (D, H), b2 (D,)."
    dec = model.decoder
    hidden = [m for m in dec.hidden if hasattr(m, 'weight')]
    if len(hidden) != 1 or type(dec.hidden[1]).__name__ != 'Tanh':
        raise ValueError('the explorer draws decoders with one tanh hidden layer (the paper\'s Appendix C MLPs)')
    out = dec.out if model.likelihood == 'bernoulli' else dec.mu
    if model.likelihood != 'bernoulli' and not dec.sigmoid_mean:
        raise ValueError('the explorer expects a Bernoulli decoder or a Gaussian decoder with sigmoid means')
    t = lambda p: p.detach().float().cpu().numpy()
    return dict(W1=t(hidden[0].weight), b1=t(hidden[0].bias), W2=t(out.weight), b2=t(out.bias))


def decode_np(arr, z):
    "What the page's JavaScript computes: y = sigmoid(W2 tanh(W1 z + b1) + b2), in float32; `z` (n, 2) -> (n, D)."
    z = np.atleast_2d(np.asarray(z, np.float32))
    h = np.tanh(z @ arr['W1'].T + arr['b1'])
    return (1.0 / (1.0 + np.exp(-(h @ arr['W2'].T + arr['b2'])))).astype(np.float32)


def model_entry(model, image_shape, name, x_train=None, x_test=None, y_train=None, y_test=None, about=None):
    "One model's part of the asset: fp16 weights, reference outputs of the float32 PyTorch decoder, the scatter."
    import torch
    arr = decoder_arrays(model)
    with torch.no_grad():
        ref = model.decode(torch.tensor(REF_Z, dtype=torch.float32)).float().numpy()
    e = dict(name=name, image_shape=list(image_shape), hidden=int(arr['W1'].shape[0]), x_dim=int(arr['W2'].shape[0]),
             likelihood=model.likelihood, W1=b64(arr['W1'], 'f2'), b1=b64(arr['b1'], 'f2'), W2=b64(arr['W2'], 'f2'),
             b2=b64(arr['b2'], 'f2'), ref_z=[list(z) for z in REF_Z], ref=b64(ref, 'f4'), about=about or {})
    for split, x, y in (('train', x_train, y_train), ('test', x_test, y_test)):
        if x is None: continue
        with torch.no_grad(): u = torch.special.ndtr(model.encode(x.float()).mu).numpy()   # Phi(mu): Figure 4's square
        e[f'{split}_u'] = b64(u, 'f2'); e[f'{split}_n'] = len(u)
        if y is not None: e[f'{split}_y'] = b64(np.asarray(y), 'u1')
    return e


def read_asset(path=OUT):
    "The asset's data as a dict (the JSON inside `window.AEVB_EXPLORER_DATA = ...;`)."
    text = Path(path).read_text(encoding='utf-8')
    return json.loads(text[text.index('{'):text.rindex('}') + 1])


def entry_arrays(e):
    "The float32 weights of an asset entry (fp16 values widened, as the page does)."
    h, d = e['hidden'], e['x_dim']
    return dict(W1=unb64(e['W1'], 'f2', (h, 2)), b1=unb64(e['b1'], 'f2'), W2=unb64(e['W2'], 'f2', (d, h)),
                b2=unb64(e['b2'], 'f2'))


def write_asset(entries, path=OUT, note=''):
    data = dict(tolerance=TOL, note=note, models={e['name']: e for e in entries})
    text = (f'// Written by tools/export_explorer.py; data for nbs/assets/latent_explorer.js (see that script).\n'
            f'window.{VAR} = {json.dumps(data, separators=(",", ":"))};\n')
    if len(text.encode()) > MAX_BYTES: raise SystemExit(f'export_explorer: asset is {len(text.encode())} bytes (> {MAX_BYTES})')
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding='utf-8')
    return path


def run_about(run_dir):
    "Where a model came from: its run folder's name, samples, final bounds, stepsize and the checkpoint's hash."
    run_dir = Path(run_dir)
    import torch
    n = torch.load(run_dir / 'checkpoint.pt', map_location='cpu', weights_only=True)['samples']   # what the model saw
    last = next(r for r in csv.DictReader(open(run_dir / 'metrics.csv')) if int(float(r['samples'])) == n)
    man = json.loads((run_dir / 'manifest.json').read_text()) if (run_dir / 'manifest.json').exists() else {}
    lr = next(csv.DictReader(open(run_dir / 'stepsize.csv')))['lr'] if (run_dir / 'stepsize.csv').exists() else None
    sha = hashlib.sha256((run_dir / 'checkpoint.pt').read_bytes()).hexdigest()[:12]
    return dict(run=run_dir.name, samples=int(float(last['samples'])), train_bound=round(float(last['train_bound']), 2),
                test_bound=round(float(last['test_bound']), 2), lr=lr, checkpoint_sha256=sha,
                init_std=man.get('model_config', {}).get('init_std'), split=man.get('data', {}).get('info', {}).get('split'))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--mnist', required=True, help='run folder of the MNIST N_z=2 model (checkpoint.pt, metrics.csv)')
    p.add_argument('--frey', required=True, help='run folder of the Frey Face N_z=2 model')
    p.add_argument('--data-dir', default=None, help='folder with the raw data (default: $AEVB_DATA or ../shared/data)')
    p.add_argument('--out', default=str(OUT), help='the asset to write (default: nbs/assets/latent_explorer_data.js)')
    a = p.parse_args(argv)
    import os, warnings
    sys.path.insert(0, str(ROOT))
    from aevb_nb.runs import load_model
    from aevb_nb.datasets import load_dataset
    data_dir = a.data_dir or os.environ.get('AEVB_DATA') or str(ROOT.parent / 'shared' / 'data')
    entries = []
    for name, rd in (('mnist', a.mnist), ('frey', a.frey)):
        model = load_model(Path(rd) / 'checkpoint.pt').eval()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            d = load_dataset(name, data_dir=data_dir)
        entries.append(model_entry(model, d.image_shape, name, d.x_train, d.x_test, d.y_train, d.y_test, run_about(rd)))
        err = np.abs(decode_np(entry_arrays(entries[-1]), REF_Z) - unb64(entries[-1]['ref'], 'f4', (len(REF_Z), -1))).max()
        print(f'{name}: {entries[-1]["about"]}; fp16 decoder vs float32 PyTorch: max |diff| {err:.2e} (tolerance {TOL})')
        if err > TOL: raise SystemExit(f'export_explorer: {name} exported decoder differs from PyTorch by {err:.3g} > {TOL}')
    path = write_asset(entries, a.out, note='decoders of `aevb reproduce fig4` (the protocol of Figure 2)')
    print(f'wrote {Path(path).relative_to(ROOT) if Path(path).is_relative_to(ROOT) else path} '
          f'({Path(path).stat().st_size:,} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
