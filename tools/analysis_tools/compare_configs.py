"""Dump the effective values of every leaf config, and compare two dumps.

Usage::

    python tools/analysis_tools/compare_configs.py dump configs OUT_DIR
    python tools/analysis_tools/compare_configs.py compare BEFORE_DIR AFTER_DIR [--all-keys]

Made to check that a restructuring of the config tree (new bases, composition
instead of ``_delete_``) leaves what each config means unchanged. ``dump``
writes one JSON file per leaf config (every ``.py`` under the folder outside
``_base_``), named by its path: the resolved config (``Config.fromfile`` then
``to_dict``; tuples kept apart from lists) and, under ``built``, the learning
rates the config's optimizer wrapper and schedulers give each parameter group
of a small probe model with a ``backbone`` and a ``head`` (so a default that
moved from the config into the scheduler, such as OneCycle's peak, is compared
by the value the built scheduler gets).

``compare`` prints, per leaf, the dotted keys added, removed or changed. By
default it compares what MMEngine's ``Runner`` and this project's tools read
(``RUNTIME_KEYS``) and lists the other top-level variables (names that bases
share with their configs, such as ``lr`` or ``aam_coco``) separately;
``--all-keys`` compares those too; ``--ignore`` leaves keys out (differences
already explained). Leaves with the same differences are grouped. The exit
status is 1 when a compared value differs or a leaf is missing, else 0.
"""
import argparse
import inspect
import json
import os
import os.path as osp
import sys
from typing import Any, Dict, Iterator, List, Sequence, Tuple

#: top-level keys read by something: Runner(...) arguments, plus the keys the
#: config machinery, tools/ and hooks read.
EXTRA_RUNTIME_KEYS = ('custom_imports', 'paper_reference', 'model_wrapper_cfg',
                      'find_unused_parameters', 'tta_model', 'tta_pipeline', 'lr_range_test')


def runtime_keys() -> frozenset:
    from mmengine.runner import Runner
    args = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    return frozenset(args | set(EXTRA_RUNTIME_KEYS))


def leaf_configs(root: str) -> List[str]:
    """Every config under ``root`` that is not a base, as paths relative to ``root``."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '_base_')
        found += [osp.relpath(osp.join(folder, f), root) for f in files if f.endswith('.py')]
    return sorted(found)


def to_jsonable(value: Any) -> Any:
    """JSON-ready copy: dict keys as strings, tuples marked so they stay tuples."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {'__tuple__': [to_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def built_learning_rates(cfg) -> Dict[str, Any]:
    """Per-group LR values (``lr``, ``initial_lr``, ``max_lr``, ``min_lr``) after
    building ``cfg.optim_wrapper`` and ``cfg.param_scheduler`` (epoch-based ones
    converted with 1 iteration per epoch) on a probe model."""
    import copy

    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import PARAM_SCHEDULERS
    from torch import nn

    class Probe(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
            self.head = nn.Linear(4, 2)

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    wrapper = build_optim_wrapper(Probe(), copy.deepcopy(cfg.optim_wrapper))
    schedulers = cfg.get('param_scheduler') or []
    for sched in schedulers if isinstance(schedulers, list) else [schedulers]:
        sched = copy.deepcopy(dict(sched))
        cls = PARAM_SCHEDULERS.get(sched.pop('type'))
        if sched.pop('convert_to_iter_based', False):
            cls.build_iter_from_epoch(wrapper, epoch_length=100, **sched)  # >1: OneCycle phases
        else:
            cls(wrapper, **sched)
    return {f'group{i}': {k: round(float(g[k]), 12) for k in ('lr', 'initial_lr', 'max_lr',
                                                                 'min_lr') if k in g}
            for i, g in enumerate(wrapper.param_groups)}


def dump(root: str, out_dir: str) -> List[str]:
    """Write ``<out_dir>/<leaf path with / as __>.json`` for every leaf of ``root``."""
    from mmengine.config import Config
    os.makedirs(out_dir, exist_ok=True)
    leaves = leaf_configs(root)
    for leaf in leaves:
        cfg = Config.fromfile(osp.join(root, leaf))
        record = dict(config=to_jsonable(cfg.to_dict()), built=built_learning_rates(cfg))
        with open(osp.join(out_dir, leaf.replace(os.sep, '__') + '.json'), 'w') as f:
            json.dump(record, f, indent=1, sort_keys=True)
    return leaves


def flatten(value: Any, prefix: str = '') -> Iterator[Tuple[str, Any]]:
    """(dotted path, leaf value) pairs; list items are addressed by index."""
    if isinstance(value, dict) and value and '__tuple__' not in value:
        for k in sorted(value):
            yield from flatten(value[k], f'{prefix}.{k}' if prefix else k)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from flatten(v, f'{prefix}.{i}')
    else:
        yield prefix, value


def diff(before: dict, after: dict, ignore: Sequence[str] = ()) -> List[str]:
    """Readable lines for the paths added, removed or changed from ``before`` to
    ``after``, leaving out the paths equal to or under one of ``ignore``."""

    def kept(pairs):
        return {k: v for k, v in pairs
                if not any(k == i or k.startswith(i + '.') for i in ignore)}

    old, new = kept(flatten(before)), kept(flatten(after))
    lines = [f'  - {k} = {old[k]!r}' for k in sorted(old.keys() - new.keys())]
    lines += [f'  + {k} = {new[k]!r}' for k in sorted(new.keys() - old.keys())]
    lines += [f'  ~ {k}: {old[k]!r} -> {new[k]!r}'
              for k in sorted(old.keys() & new.keys()) if old[k] != new[k]]
    return lines


def helper_change(before: dict, after: dict, keys: frozenset) -> List[str]:
    """The top-level variables outside ``keys`` that only one side defines."""
    old, new = (set(rec['config']) - keys for rec in (before, after))
    return [f'  other variables: +{sorted(new - old)} -{sorted(old - new)}'] if old != new else []


def compare(before_dir: str, after_dir: str, all_keys: bool = False,
            ignore: Sequence[str] = ()) -> Tuple[str, bool]:
    """The report, and whether the runtime values of every leaf are unchanged
    (apart from the paths under ``ignore``). Leaves with the same differences
    are listed together above them."""
    names = {d: {f for f in os.listdir(d) if f.endswith('.json')} for d in (before_dir, after_dir)}
    keys = runtime_keys()
    out, same = [], True
    for name in sorted(names[before_dir] - names[after_dir]):
        out.append(f'{name}: missing after')
        same = False
    for name in sorted(names[after_dir] - names[before_dir]):
        out.append(f'{name}: new')
    groups: Dict[Tuple[str, ...], List[str]] = {}
    for name in sorted(names[before_dir] & names[after_dir]):
        with open(osp.join(before_dir, name)) as f:
            before = json.load(f)
        with open(osp.join(after_dir, name)) as f:
            after = json.load(f)
        picked = [{k: v for k, v in rec['config'].items() if all_keys or k in keys}
                  for rec in (before, after)]
        lines = diff(dict(picked[0], built=before['built']),
                     dict(picked[1], built=after['built']), ignore)
        same = same and not lines
        helpers = [] if all_keys else helper_change(before, after, keys)
        groups.setdefault((tuple(lines), tuple(helpers)), []).append(name[:-len('.json')])
    for (lines, helpers), leaves in sorted(groups.items(), key=lambda item: -len(item[1])):
        out.append(f'{len(leaves)} leaves: ' + ('differ' if lines else 'same runtime values'))
        out += [f'    {leaf}' for leaf in leaves] + list(lines) + list(helpers)
    compared = len(names[before_dir] & names[after_dir])
    out.append(f'{compared} leaves compared: '
               + ('same values' if same else 'differences above'))
    return '\n'.join(out), same


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('dump', help='dump every leaf config of a folder')
    p.add_argument('root', help='config folder, e.g. configs')
    p.add_argument('out_dir')
    p = sub.add_parser('compare', help='compare two dumps')
    p.add_argument('before')
    p.add_argument('after')
    p.add_argument('--all-keys', action='store_true',
                   help='compare every top-level variable, not only the runtime ones')
    p.add_argument('--ignore', nargs='+', default=[], metavar='KEY',
                   help='dotted keys left out of the comparison (with what is under them), '
                   'e.g. differences already explained')
    args = parser.parse_args(argv)
    if args.command == 'dump':
        leaves = dump(args.root, args.out_dir)
        print(f'{len(leaves)} leaf configs dumped to {args.out_dir}')
        return 0
    report, same = compare(args.before, args.after, args.all_keys, args.ignore)
    print(report)
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
