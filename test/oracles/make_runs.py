"""Writes an HLIP training logs tree the way HLIP's trainer (open_clip_train, extended; branch hlip-ablation) leaves it,
for test/unit/runs*.test.ts, the host tests and the runs benchmark.

usage: /usr/bin/python3 test/oracles/make_runs.py OUT_DIR

OUT_DIR/logs/<name>/{params.txt, out.log, checkpoints/{epoch_1..3.pt, epoch_latest.pt, results.jsonl}} for
  pd025   clip_vit_base_multiscan_h2_token1176, force_patch_dropout 0.25  (MRI; validation data: rows carry "epoch")
  pd050   the same with force_patch_dropout 0.5
  dinotxt clip_vit_base_multiscan_h2_dinotxt1176 (DINO.txt pooling), 0.25 (MRI; zero-shot only: rows without "epoch")
OUT_DIR/logs-ct/ct/...   a head-CT run (ct evaluation dict, "auc (ct)"), for the modality check
OUT_DIR/vocab.txt        the vocabulary the small text towers were sized for (hlip classify --vocab)
OUT_DIR/runs.json        what was written (names, epochs, settings that differ, metrics), for the tests to compare

Checkpoints are torch.save({epoch, name, state_dict (DDP "module." keys), optimizer (a real AdamW state after real
steps), scaler}) of small random-weight HLIP models (tools/hlip_ref: the variant's depth, schedule, patch size and
pooling at width 48). params.txt is str() of every argument, sorted; out.log lines come from Python's logging with
open_clip's formatter and the trainer's message formats.
"""
import json
import logging
import math
import os
import sys
from collections import OrderedDict

import torch

sys.dont_write_bytecode = True
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'hlip_ref'))
from model import HLIPClip  # noqa: E402
from make_fixtures import init_weights, make_vocab, small_text, small_visual  # noqa: E402

EPOCHS = 3
SAMPLES_PER_EPOCH = 4096
BATCH = 16
ACCUM_BATCH = 4          # HLIP's gradient accumulation: 64 samples per optimizer step
LOG_EVERY = 16           # log_every_n_steps (in accumulated batches)


def base_args(name, logs_dir, model, patch_dropout, modality):
    """vars(args) of hlip_train.params.parse_args plus what main.py sets at run time."""
    data_root = '/data/brainmri' if modality == 'mri' else '/data/headct'
    ev = {'data_root': data_root, 'input_file': f'../data/{modality}/test.csv'}
    return {
        'accum_batch': ACCUM_BATCH, 'accum_freq': 1, 'aug_cfg': {}, 'batch_size': BATCH, 'beta1': 0.9, 'beta2': 0.98,
        'cache_dir': None, 'checkpoint_path': os.path.join(logs_dir, name, 'checkpoints'), 'coca_caption_loss_weight': 2.0,
        'coca_contrastive_loss_weight': 1.0, 'copy_codebase': False, 'csv_caption_key': 'title', 'csv_img_key': 'filepath',
        'csv_separator': '\t', 'ct': ev if modality == 'ct' else {}, 'dataset_resampled': False, 'dataset_type': 'auto',
        'debug': False, 'delete_previous_checkpoint': False, 'device': 'cuda:0', 'dist_backend': 'nccl',
        'dist_url': 'env://', 'distill': False, 'distributed': True, 'epochs': EPOCHS, 'epochs_cooldown': None,
        'eps': 1e-06, 'finetune': None, 'force_custom_text': False, 'force_image_size': None,
        'force_patch_dropout': patch_dropout, 'force_quick_gelu': False, 'gather_with_grad': True,
        'grad_checkpointing': True, 'grad_clip_norm': None, 'horovod': False, 'image_interpolation': None,
        'image_mean': None, 'image_resize_mode': None, 'image_std': None, 'imagenet_v2': None, 'imagenet_val': None,
        'local_loss': True, 'local_rank': 0, 'lock_image': False, 'lock_text': False, 'log_every_n_steps': LOG_EVERY,
        'log_level': 20, 'log_local': False, 'log_path': os.path.join(logs_dir, name, 'out.log'), 'logs_dir': logs_dir,
        'lr': 0.0006, 'lr_cooldown_end': 0.0, 'lr_cooldown_power': 1.0, 'lr_scheduler': 'cosine', 'model': model,
        'mri': ev if modality == 'mri' else {}, 'name': name, 'no_set_device_rank': False, 'num_scans': 10,
        'opt': 'adamw', 'precision': 'amp', 'pretrained': '', 'rank': 0, 'remote_sync': None, 'report_to': '',
        'resume': None, 'save_frequency': 1, 'save_logs': True, 'save_most_recent': True, 'seed': 0,
        'siglip': False, 'tensorboard': False, 'tensorboard_path': '', 'torchcompile': False, 'torchscript': False,
        'trace': False, 'train_data': None, 'train_data_filelist': [f'../data/{modality}/train.csv'],
        'train_num_samples': SAMPLES_PER_EPOCH, 'use_bn_sync': False, 'valid_data': None,
        'valid_frequency': 1, 'valid_num_samples': None, 'wandb': False, 'wandb_notes': '', 'warmup': 10, 'wd': 0.2,
        'workers': 8, 'world_size': 1, 'zeroshot_frequency': 1,
    }


def setup_logging(path):
    """open_clip_train.logger.setup_logging's file handler and format."""
    for h in list(logging.root.handlers):
        logging.root.removeHandler(h)
        h.close()
    h = logging.FileHandler(filename=path)
    h.setFormatter(logging.Formatter('%(asctime)s | %(levelname)s | %(name)s | %(message)s', datefmt='%Y-%m-%d,%H:%M:%S'))
    logging.root.addHandler(h)
    logging.root.setLevel(logging.INFO)


def write_run(logs_dir, name, model_name, variant, patch_dropout, modality, seed, vocab, valid, variants):
    run_dir = os.path.join(logs_dir, name)
    ckpt_dir = os.path.join(run_dir, 'checkpoints')
    os.makedirs(ckpt_dir, exist_ok=True)
    args = base_args(name, logs_dir, model_name, patch_dropout, modality)
    setup_logging(os.path.join(run_dir, 'out.log'))
    logging.info('Params:')
    with open(os.path.join(run_dir, 'params.txt'), 'w') as f:
        for k in sorted(args):
            logging.info(f'  {k}: {args[k]}')
            f.write(f'{k}: {args[k]}\n')

    vcfg = small_visual(variant, variants[variant])
    tcfg = small_text(len(vocab), vcfg.proj_dim)
    model = HLIPClip(vcfg, tcfg, logit_bias=vcfg.reg_tokens > 0)
    init_weights(model, seed)
    named = list(model.named_parameters())
    exclude = lambda n, p: p.ndim < 2 or 'bn' in n or 'ln' in n or 'bias' in n or 'logit_scale' in n  # noqa: E731
    opt = torch.optim.AdamW([
        {'params': [p for n, p in named if exclude(n, p)], 'weight_decay': 0.},
        {'params': [p for n, p in named if not exclude(n, p)], 'weight_decay': args['wd']},
    ], lr=args['lr'], betas=(0.9, 0.98), eps=1e-6)
    scaler = {'scale': 65536.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 2000, '_growth_tracker': 0}

    g = torch.Generator().manual_seed(seed)
    steps_per_epoch = SAMPLES_PER_EPOCH // (BATCH * ACCUM_BATCH)
    total = steps_per_epoch * EPOCHS
    digits = math.ceil(math.log(SAMPLES_PER_EPOCH + 1, 10))
    results = []
    for epoch in range(EPOCHS):
        logging.info(f'Start epoch {epoch}')
        for i in range(steps_per_epoch):
            step = steps_per_epoch * epoch + i
            lr = args['lr'] * (step + 1) / args['warmup'] if step < args['warmup'] else \
                0.5 * (1 + math.cos(math.pi * (step - args['warmup']) / (total - args['warmup']))) * args['lr']
            for group in opt.param_groups:
                group['lr'] = lr
            batch_count = i + 1
            if i % LOG_EVERY == 0 or batch_count == steps_per_epoch:
                opt.zero_grad()
                loss = sum((p.float() ** 2).mean() for p in model.parameters()) * 0.01
                loss.backward()
                opt.step()
                num_samples = batch_count * BATCH * ACCUM_BATCH
                val = 4.0 * math.exp(-step / total * (1.5 + patch_dropout)) + 0.05 * float(torch.rand(1, generator=g))
                avg = val + 0.02
                logging.info(
                    f'Train Epoch: {epoch} [{num_samples:>{digits}}/{SAMPLES_PER_EPOCH} ({100.0 * batch_count / steps_per_epoch:.0f}%)] '
                    f'Data (t): 0.012 Batch (t): 0.845, {BATCH * ACCUM_BATCH / 0.845:#g}/s, {BATCH * ACCUM_BATCH / 0.845:#g}/s/gpu '
                    f'LR: {lr:5f} Logit Scale (Sentence): {14.286 + step / 100:.3f} Logit Scale (Report): {0.0:.3f} '
                    f'Contrastive_loss: {val:#.5g} ({avg:#.5g})')
        completed = epoch + 1
        auc = 0.55 + 0.08 * completed * (1 - patch_dropout / 2) + (0.03 if 'dinotxt' in variant else 0)
        metrics = {f'auc ({modality})': auc}
        if valid:
            metrics.update({'image_to_text_mean_rank': 40.0 - 5 * completed, 'image_to_text_median_rank': 30.0 - 4 * completed,
                            'image_to_text_R@1': 0.05 * completed, 'image_to_text_R@5': 0.12 * completed,
                            'image_to_text_R@10': 0.2 * completed, 'valid_clip_score': 20.0 + completed,
                            'epoch': completed, 'num_samples': 512})
        if modality == 'ct' and completed == 1:
            metrics[f'auc ({modality})'] = float('nan')  # HLIP's AUC of a class with one label value
        logging.info(f'Eval Epoch: {completed} ' + '\t'.join([f'{k}: {round(v, 4):.4f}' for k, v in metrics.items()]))
        with open(os.path.join(ckpt_dir, 'results.jsonl'), 'a+') as f:
            f.write(json.dumps(metrics))
            f.write('\n')
        results.append(metrics)
        sd = OrderedDict(('module.' + k, v) for k, v in model.state_dict().items())
        checkpoint = {'epoch': completed, 'name': name, 'state_dict': sd, 'optimizer': opt.state_dict(), 'scaler': scaler}
        torch.save(checkpoint, os.path.join(ckpt_dir, f'epoch_{completed}.pt'))
        tmp = os.path.join(ckpt_dir, 'tmp.pt')
        torch.save(checkpoint, tmp)
        os.replace(tmp, os.path.join(ckpt_dir, 'epoch_latest.pt'))
    return {'name': name, 'dir': run_dir, 'model': model_name, 'variant': variant, 'pool': vcfg.pool,
            'patch_size': list(vcfg.patch_size), 'depth': vcfg.depth, 'width': vcfg.embed_dim,
            'force_patch_dropout': patch_dropout, 'modality': modality, 'results': results,
            'parameters': sum(p.numel() for p in model.state_dict().values())}


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_runs.py OUT_DIR')
    out = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    with open(os.path.join(ROOT, 'models', 'hlip-variants.json')) as f:
        variants = json.load(f)['variants']
    vocab = make_vocab()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'vocab.txt'), 'w') as f:
        f.write('\n'.join(vocab) + '\n')
    logs = os.path.join(out, 'logs')
    runs = [
        write_run(logs, 'pd025', 'clip_vit_base_multiscan_h2_token1176', 'vit_base_multiscan_h2_token1176', 0.25, 'mri', 11, vocab, True, variants),
        write_run(logs, 'pd050', 'clip_vit_base_multiscan_h2_token1176', 'vit_base_multiscan_h2_token1176', 0.5, 'mri', 11, vocab, True, variants),
        write_run(logs, 'dinotxt', 'clip_vit_base_multiscan_h2_dinotxt1176', 'vit_base_multiscan_h2_dinotxt1176', 0.25, 'mri', 13, vocab, False, variants),
        write_run(os.path.join(out, 'logs-ct'), 'ct', 'clip_vit_base_multiscan_h2_token1176', 'vit_base_multiscan_h2_token1176', 0.25, 'ct', 17, vocab, False, variants),
    ]
    with open(os.path.join(out, 'runs.json'), 'w') as f:
        json.dump({'epochs': EPOCHS, 'samples_per_epoch': SAMPLES_PER_EPOCH, 'global_batch': BATCH * ACCUM_BATCH,
                   'log_every': LOG_EVERY, 'runs': runs}, f, indent=1, allow_nan=True)
    print(f'{len(runs)} runs -> {out}')


if __name__ == '__main__':
    main()
