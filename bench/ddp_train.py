"""Data-parallel AEVB under torchrun (gloo on CPU, NCCL on GPUs); see nbs/17_distributed.ipynb.

    torchrun --nproc_per_node 2 bench/ddp_train.py --dataset digits --z-dim 2 --n-samples 100000 --out-dir runs/ddp
"""
from aevb_nb.distributed import main

if __name__ == '__main__':
    main()
