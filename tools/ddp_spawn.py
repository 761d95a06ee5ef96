"""Spawn W gloo processes that train data-parallel AEVB in one process group: the test of chapter 17 and the `ddp` row
of bench/bench_all.py use it (spawned ranks import `_worker` from this file, so it cannot live in a notebook cell).
Not part of the library: the one entry point for data-parallel training is `torchrun ... --no-python aevb train`."""
import os
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from aevb_nb.datasets import load_dataset
from aevb_nb.models import make_vae
from aevb_nb.config import train_config
from aevb_nb.distributed import train_data_parallel


def _worker(rank, world, init_file, runs, out_path):
    "One rank of spawned runs: gloo group via `init_file`, each spec of `runs` trained, final states to `out_path`."
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        out = []
        for spec in runs:
            data = load_dataset(spec['dataset'], binarize=spec.get('binarize', 'none'))
            torch.manual_seed(spec['model_seed'])
            model = make_vae(data.x_train.shape[1], spec['z_dim'], data.likelihood, dataset=spec['dataset'])
            hist = train_data_parallel(model, data, train_config(**spec['cfg']), out_dir=spec.get('out_dir'),
                                       resume=spec.get('resume', False), progress=False)
            out.append(dict(model=model.state_dict(), history=hist))
        torch.save(out, f'{out_path}.rank{rank}')
    finally:
        dist.destroy_process_group()


def spawn_data_parallel(world, runs, out_path):
    "Run _worker on `world` spawned gloo processes; per rank, one `dict(model=state_dict, history=...)` per spec."
    init_file = f'{out_path}.init'
    if os.path.exists(init_file): os.remove(init_file)
    mp.start_processes(_worker, args=(world, init_file, list(runs), out_path), nprocs=world, start_method='spawn')
    return [torch.load(f'{out_path}.rank{r}', weights_only=True) for r in range(world)]
