"""Throughput of `aevb_nb.aevb.train` against a loop written the way pytorch/examples `vae/main.py` is.

Both train the same architecture (784-400-20 ReLU encoder and decoder, Bernoulli decoder, Adam 1e-3, batch 128,
summed BCE + analytic KL, i.e. estimator B with L=1, no weight prior) on the same data (the 10,000 MNIST test
images, grey levels in [0, 1], not binarised) for the same number of training samples, in one process:

* reference: a torch `DataLoader(shuffle=True)` over a torchvision-style dataset that returns
  `transforms.ToTensor()(PIL.Image)` for each uint8 image, model/loss/optimizer as in `vae/main.py`;
* ours: `aevb_nb.aevb.train` (the loop of chapter 07 running the AEVB method) with the `pytorch-examples` preset
  (data resident on the device, indices drawn on the device, no host sync per step), the model from
  `aevb_nb.models.make_vae(preset='pytorch-examples')`.

A third, context-only row runs main.py's loop on minibatches sliced from a resident tensor: the ceiling the model's own
arithmetic allows. Prints samples/second for each, the ratios, and the lower bound (estimator B, L=1, nats per
datapoint, all 10,000 images, one fixed noise draw) each model reaches, which must be similar.

    python bench/bench_trainer.py [--data-dir /path/with/mnist] [--epochs 3] [--threads 2] [--repeats 2] [--device cpu]
"""
import argparse, gzip, os, sys, time, json
from pathlib import Path
from types import SimpleNamespace
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def load_idx_images(data_dir):
    "uint8 array (n, 28, 28) of the MNIST test images (t10k-images-idx3-ubyte[.gz])."
    d = Path(data_dir)
    for sub in ('', 'mnist', 'MNIST/raw'):
        for name in ('t10k-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte'):
            p = d / sub / name
            if p.exists():
                raw = (gzip.open(p) if p.suffix == '.gz' else open(p, 'rb')).read()
                return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    raise FileNotFoundError(f'no t10k-images-idx3-ubyte[.gz] under {d}')


# ---- the reference: pytorch/examples vae/main.py ------------------------------------------------------------
class MNISTLike(torch.utils.data.Dataset):
    "Like torchvision.datasets.MNIST: uint8 images, PIL Image per item, then the transform (ToTensor)."
    def __init__(self, images, transform):
        self.data, self.transform = torch.from_numpy(images.copy()), transform
    def __len__(self): return len(self.data)
    def __getitem__(self, i):
        from PIL import Image
        img = Image.fromarray(self.data[i].numpy(), mode='L')
        return self.transform(img), 0


class RefVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400); self.fc21 = nn.Linear(400, 20); self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400); self.fc4 = nn.Linear(400, 784)
    def encode(self, x):
        h1 = F.relu(self.fc1(x)); return self.fc21(h1), self.fc22(h1)
    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar); eps = torch.randn_like(std); return mu + eps * std
    def decode(self, z):
        h3 = F.relu(self.fc3(z)); return torch.sigmoid(self.fc4(h3))
    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784)); z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def run_reference(images, epochs, device, seed):
    from torchvision import transforms
    torch.manual_seed(seed)
    kw = {'num_workers': 1, 'pin_memory': True} if device.type == 'cuda' else {}
    loader = torch.utils.data.DataLoader(MNISTLike(images, transforms.ToTensor()), batch_size=128, shuffle=True, **kw)
    model = RefVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, t0 = 0, time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for data, _ in loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            optimizer.step()
            n += len(data)
    if device.type == 'cuda': torch.cuda.synchronize()
    return model, n, time.perf_counter() - t0


def run_inmemory(x, epochs, device, seed):
    "Context row: main.py's model, loss and optimizer, but minibatches sliced from a resident tensor (no DataLoader)."
    torch.manual_seed(seed)
    model = RefVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        for idx in torch.randperm(len(x), device=device).split(128):
            data = x[idx]
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            optimizer.step()
            n += len(data)
    if device.type == 'cuda': torch.cuda.synchronize()
    return model, n, time.perf_counter() - t0


@torch.no_grad()
def reference_bound(model, x, seed, batch_size=1000):
    "-(BCE + KL) per datapoint over x: the ELBO (estimator B, L=1) in nats per datapoint."
    torch.manual_seed(seed)
    tot = 0.0
    for xb in x.split(batch_size):
        r, mu, lv = model(xb); tot += loss_function(r, xb, mu, lv).double().item()
    return -tot / len(x)


# ---- ours -----------------------------------------------------------------------------------------------------
def run_ours(x, n_samples, device, seed, step='auto'):
    from aevb_nb.aevb import train
    from aevb_nb.config import train_config
    from aevb_nb.models import make_vae
    torch.manual_seed(seed)
    model = make_vae(784, 20, 'bernoulli', preset='pytorch-examples').to(device)
    data = SimpleNamespace(name='mnist-t10k', x_train=x, x_test=None, info={'binarization': 'none'})
    cfg = train_config('pytorch-examples', n_samples=n_samples, eval_every=n_samples, eval_n=1, seed=seed,
                       device=str(device), step=step)
    t0 = time.perf_counter()
    hist = train(model, data, cfg, progress=False)
    wall = time.perf_counter() - t0
    return model, hist[-1]['samples'], hist[-1]['time'], wall


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = Path(__file__).resolve().parents[2] / 'shared' / 'data'
    p.add_argument('--data-dir', default=os.environ.get('AEVB_DATA', str(shared)))
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--json', default=None, help='write the results here')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    images = load_idx_images(a.data_dir)
    x = torch.from_numpy(images.reshape(-1, 784).astype(np.float32) / 255.).to(dev)   # what ToTensor gives
    n_samples = a.epochs * len(images)
    ref_t, our_t, mem_t = [], [], []
    for r in range(a.repeats):
        ref_model, n_ref, t = run_reference(images, a.epochs, dev, a.seed); ref_t.append(t)
        our_model, n_our, t, wall = run_ours(x, n_samples, dev, a.seed); our_t.append(t)
        mem_model, n_mem, t = run_inmemory(x, a.epochs, dev, a.seed); mem_t.append(t)
        print(f'repeat {r}: reference {n_ref / ref_t[-1]:,.0f} samples/s, ours {n_our / our_t[-1]:,.0f} samples/s '
              f'(ours incl. setup and final evaluation: {n_our / wall:,.0f})', file=sys.stderr)
    from aevb_nb.aevb import evaluate_bound
    b_ref, b_our = reference_bound(ref_model, x, a.seed), evaluate_bound(our_model, x, 'B', 1, 1000, seed=a.seed)
    ref_sps, our_sps, mem_sps = n_ref / min(ref_t), n_our / min(our_t), n_mem / min(mem_t)
    b_mem = reference_bound(mem_model, x, a.seed)
    res = dict(device=str(dev), threads=a.threads, torch=torch.__version__, samples=n_samples, epochs=a.epochs,
               reference_samples_per_s=round(ref_sps), ours_samples_per_s=round(our_sps),
               ratio=round(our_sps / ref_sps, 2),
               reference_bound=round(b_ref, 2), ours_bound=round(b_our, 2),
               inmemory_samples_per_s=round(mem_sps), inmemory_bound=round(b_mem, 2),
               bound_label='lower bound (estimator B, L=1) on the 10,000 MNIST test images (grey levels), '
                           'nats per datapoint')
    print(f"| loop | samples/s | lower bound after {n_samples:,} samples (nats/datapoint) |")
    print("|---|---|---|")
    print(f"| pytorch/examples-style (DataLoader + ToTensor) | {ref_sps:,.0f} | {b_ref:.2f} |")
    print(f"| aevb_nb.aevb.train (preset pytorch-examples) | {our_sps:,.0f} | {b_our:.2f} |")
    print(f"| context: main.py loop on a resident tensor (no DataLoader) | {mem_sps:,.0f} | {b_mem:.2f} |")
    print(f"\nratio ours/reference: {our_sps / ref_sps:.2f}x; ours/resident-tensor loop: {our_sps / mem_sps:.2f}x  "
          f"(device {dev}, {a.threads} threads, best of {a.repeats}, torch {torch.__version__})")
    if abs(b_ref - b_our) > 5: print(f'WARNING: bounds differ by {abs(b_ref - b_our):.1f} nats', file=sys.stderr)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))
    return res


if __name__ == '__main__':
    main()
