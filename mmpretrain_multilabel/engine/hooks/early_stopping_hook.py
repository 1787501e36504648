"""Early stopping with the rule of Prokofiev & Sovrasov (2022), Sec. 3.5.

Each evaluation gives ``acc = max(metric of the raw model, metric of the EMA
model)``. With a smoothed best ``b`` (starting at 0)::

    if acc > b:  b = 0.8 * acc + 0.2 * b;  wait = 0
    elif the OneCycle warm-up is over:  wait += 1
    stop when wait >= patience (5)

MMEngine's ``EarlyStoppingHook`` keeps its state in memory only; this one
stores it in ``checkpoint['meta']['early_stopping']`` and restores it on
resume (see :class:`SmoothedEarlyStoppingHook`).
"""
import math
from typing import Dict, List, Optional, Union

from mmengine.hooks import EarlyStoppingHook
from mmengine.hooks import EMAHook as MMEngineEMAHook
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.priority import get_priority
from mmpretrain.registry import HOOKS

STATE_KEY = 'early_stopping'


def smoothed_best_update(best_smoothed: float, wait: int, acc: float,
                         counting: bool, smoothing: float = 0.8,
                         min_delta: float = 0.0):
    """One step of the authors' rule.

    Args:
        best_smoothed (float): Smoothed best so far (starts at 0).
        wait (int): Evaluations without improvement so far.
        acc (float): This evaluation's score.
        counting (bool): Whether a non-improvement counts (False during the
            learning-rate warm-up).
        smoothing (float): Weight of ``acc`` in the new smoothed best.
        min_delta (float): Margin ``acc`` must beat the smoothed best by.

    Returns:
        tuple[float, int, bool]: New smoothed best, new wait count, and
        whether ``acc`` was an improvement.
    """
    if acc > best_smoothed + min_delta:
        return smoothing * acc + (1 - smoothing) * best_smoothed, 0, True
    return best_smoothed, wait + 1 if counting else wait, False


def _flatten_schedulers(schedulers) -> list:
    if schedulers is None:
        return []
    if isinstance(schedulers, dict):
        return [s for group in schedulers.values()
                for s in _flatten_schedulers(group)]
    if isinstance(schedulers, (list, tuple)):
        return list(schedulers)
    return [schedulers]


@HOOKS.register_module()
class SmoothedEarlyStoppingHook(EarlyStoppingHook):
    """Stop when max(raw, EMA) stops beating a smoothed best (authors' rule).

    The score of an evaluation is the monitored metric of the model
    evaluated by the val loop and, when MMPretrain's ``EMAHook`` evaluates
    both models (``evaluate_on_ema=True, evaluate_on_origin=True``), of the
    raw model as well (``val/<monitor>_origin`` in the message hub): the
    larger one counts. The score is added to the metrics as ``score_key`` so
    that ``CheckpointHook(save_best=score_key)`` keeps the checkpoint the
    rule considers best (it holds both models: EMA weights in
    ``state_dict``, raw ones in ``ema_state_dict``).

    Non-improvements count only after the warm-up phase of ``OneCycleLR``
    (``warmup='auto'``), i.e. once its learning rate has peaked.

    Resume: the state (smoothed best, wait count, history) is saved in
    ``checkpoint['meta']['early_stopping']`` and restored when training is
    resumed. MMEngine saves an epoch's checkpoint before validating that
    epoch, so on resume the missing evaluation is run once before training
    continues (``revalidate_on_resume``); decisions then match an
    uninterrupted run.

    Args:
        monitor (str): Metric key, e.g. ``'multi-label/mAP'``.
        patience (int): Counted non-improvements before stopping.
            Defaults to 5.
        smoothing (float): Weight of a new best in the smoothed best.
            Defaults to 0.8.
        warmup (str | int | None): ``'auto'``: the warm-up of the first
            ``OneCycleLR`` (none without one); an int: epochs (iterations
            for an iteration-based loop); ``None``/0: count from the start.
            Defaults to ``'auto'``.
        score_key (str, optional): Metric key the score is published under.
            Defaults to ``'<monitor>_raw_ema_max'``.
        min_delta (float): Margin over the smoothed best. Defaults to 0.
        strict (bool): Raise if the monitored metric is missing (else warn
            and skip). Defaults to True.
        check_finite (bool): Stop on a non-finite score. Defaults to True.
        stopping_threshold (float, optional): Stop once the score reaches it.
        revalidate_on_resume (bool): See above. Defaults to True.
    """

    # after EMAHook (NORMAL=50: swaps back, evaluates the raw model), before
    # LoggerHook (BELOW_NORMAL=60: logs the published score) and
    # CheckpointHook (VERY_LOW=90: save_best reads it)
    priority = 55

    def __init__(self,
                 monitor: str = 'multi-label/mAP',
                 patience: int = 5,
                 smoothing: float = 0.8,
                 warmup: Union[str, int, None] = 'auto',
                 score_key: Optional[str] = None,
                 min_delta: float = 0.0,
                 strict: bool = True,
                 check_finite: bool = True,
                 stopping_threshold: Optional[float] = None,
                 revalidate_on_resume: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, int) \
                or patience < 1:
            raise ValueError(f'SmoothedEarlyStoppingHook: patience must be an '
                             f'int >= 1, got {patience!r}')
        if not (isinstance(smoothing, (int, float)) and 0 < smoothing <= 1):
            raise ValueError(f'SmoothedEarlyStoppingHook: smoothing must be in '
                             f'(0, 1], got {smoothing!r}')
        if not (warmup is None or warmup == 'auto' or (
                isinstance(warmup, int) and not isinstance(warmup, bool)
                and warmup >= 0)):
            raise ValueError(f"SmoothedEarlyStoppingHook: warmup must be 'auto',"
                             f' None or an int >= 0, got {warmup!r}')
        super().__init__(
            monitor=monitor,
            rule='greater',
            min_delta=min_delta,
            strict=strict,
            check_finite=check_finite,
            patience=patience,
            stopping_threshold=stopping_threshold)
        self.smoothing = float(smoothing)
        self.warmup = warmup
        self.score_key = score_key or f'{monitor}_raw_ema_max'
        self.revalidate_on_resume = revalidate_on_resume
        self._by_epoch = True
        self.reset()

    # --------------------------------------------------------------- state --
    def reset(self) -> None:
        self.best_smoothed = 0.0
        self.wait_count = 0
        self.best_score = -math.inf
        self.best_step: Optional[int] = None
        self.last_step = -1
        self.history: List[dict] = []
        self.stop_reason: Optional[str] = None
        self._counting = True
        self._revalidate = False

    def state_dict(self) -> dict:
        return dict(
            best_smoothed=self.best_smoothed,
            wait_count=self.wait_count,
            best_score=self.best_score,
            best_step=self.best_step,
            last_step=self.last_step,
            history=[dict(h) for h in self.history],
            stop_reason=self.stop_reason)

    def load_state_dict(self, state: dict) -> None:
        self.best_smoothed = float(state['best_smoothed'])
        self.wait_count = int(state['wait_count'])
        self.best_score = float(state['best_score'])
        self.best_step = state.get('best_step')
        self.last_step = int(state['last_step'])
        self.history = [dict(h) for h in state.get('history', [])]
        self.stop_reason = state.get('stop_reason')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[STATE_KEY] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # fine-tuning from weights: a fresh stopping state
        state = checkpoint.get('meta', {}).get(STATE_KEY)
        if state is None:
            runner.logger.warning(
                'SmoothedEarlyStoppingHook: the resumed checkpoint has no '
                'early-stopping state; starting from a fresh one.')
            return
        self.load_state_dict(state)
        self._revalidate = self.revalidate_on_resume
        self._by_epoch = not isinstance(runner._train_loop, IterBasedTrainLoop)
        runner.logger.info(
            f'SmoothedEarlyStoppingHook: resumed state (smoothed best '
            f'{self.best_smoothed:.4f}, wait {self.wait_count}/'
            f'{self.patience}, last evaluation at {self._unit} '
            f'{self.last_step}).')

    # ------------------------------------------------------------ helpers --
    @property
    def _unit(self) -> str:
        return 'epoch' if self._by_epoch else 'iter'

    def _step(self, runner) -> int:
        return runner.epoch if self._by_epoch else runner.iter

    def _ema_hook(self, runner):
        for hook in runner.hooks:
            if isinstance(hook, MMEngineEMAHook):
                return hook
        return None

    def _warmup_over(self, runner) -> bool:
        if self.warmup is None or self.warmup == 0:
            return True
        if self.warmup != 'auto':
            return self._step(runner) >= self.warmup
        for sched in _flatten_schedulers(runner.param_schedulers):
            if isinstance(sched, OneCycleParamScheduler):
                # LR peaks at the end of phase 0 (MMEngine's layout)
                return sched.last_step > sched._schedule_phases[0]['end_step']
        return True

    def before_run(self, runner) -> None:
        pass  # the train loop is inspected in before_train (not built in tests)

    def before_train(self, runner) -> None:
        if not hasattr(runner.train_loop, 'stop_training'):
            raise TypeError('SmoothedEarlyStoppingHook needs a train loop with '
                            f'`stop_training`, got {type(runner.train_loop)}')
        self._by_epoch = not isinstance(runner.train_loop, IterBasedTrainLoop)
        ema = self._ema_hook(runner)
        if ema is not None and get_priority(ema.priority) >= get_priority(
                self.priority):
            raise ValueError(
                f'SmoothedEarlyStoppingHook (priority {self.priority}) must '
                f'run after EMAHook (priority {ema.priority}) to see both '
                'metrics; give EMAHook a higher priority.')
        if self.warmup == 'auto' and not any(
                isinstance(s, OneCycleParamScheduler)
                for s in _flatten_schedulers(runner.param_schedulers)):
            runner.logger.info('SmoothedEarlyStoppingHook: no OneCycleLR, so '
                               'no warm-up: every evaluation counts.')
        if self.stop_reason is not None and self.wait_count >= self.patience:
            runner.train_loop.stop_training = True
            runner.logger.info(
                'SmoothedEarlyStoppingHook: the resumed run had stopped early '
                f'({self.stop_reason}); not training further.')

    def before_train_epoch(self, runner) -> None:
        if not self._revalidate:
            return
        self._revalidate = False
        loop, step = runner.train_loop, self._step(runner)
        max_step = loop.max_epochs if self._by_epoch else loop.max_iters
        due = (step > 0 and step >= loop.val_begin
               and (step % loop.val_interval == 0 or step == max_step))
        if due and self.last_step < step and runner.val_loop is not None:
            runner.logger.info(
                f'SmoothedEarlyStoppingHook: the checkpoint of {self._unit} '
                f'{step} was saved before its evaluation; evaluating it now '
                'so that early stopping sees every evaluation.')
            runner.val_loop.run()

    # ------------------------------------------------------------- scoring --
    def _score(self, runner, metrics: Dict[str, float]) -> Dict[str, float]:
        """Scores of this evaluation by model ('raw', 'ema')."""
        ema = self._ema_hook(runner)
        if ema is None:
            return dict(raw=float(metrics[self.monitor]))
        on_ema = getattr(ema, 'evaluate_on_ema', True)
        on_origin = getattr(ema, 'evaluate_on_origin', False)
        if not on_ema:
            return dict(raw=float(metrics[self.monitor]))
        scores = dict(ema=float(metrics[self.monitor]))
        if on_origin:
            key = f'val/{self.monitor}_origin'
            scalar = runner.message_hub.log_scalars.get(key)
            if scalar is None:
                raise RuntimeError(
                    f'SmoothedEarlyStoppingHook: EMAHook evaluates the raw '
                    f'model but {key!r} is not in the message hub.')
            scores['raw'] = float(scalar.current())
        return scores

    def _check_stop_condition(self, current_score: float):
        if self.check_finite and not math.isfinite(current_score):
            return True, (f'the score {self.monitor} = {current_score} is not '
                          f'finite (smoothed best {self.best_smoothed:.4f}).')
        if self.stopping_threshold is not None and \
                current_score >= self.stopping_threshold:
            return True, (f'the score {current_score:.4f} reached the stopping '
                          f'threshold {self.stopping_threshold}.')
        self.best_smoothed, self.wait_count, _ = smoothed_best_update(
            self.best_smoothed, self.wait_count, current_score,
            self._counting, self.smoothing, self.min_delta)
        if self.wait_count >= self.patience:
            return True, (
                f'max(raw, EMA) {self.monitor} did not beat the smoothed best '
                f'{self.best_smoothed:.4f} in {self.wait_count} counted '
                f'evaluations after the warm-up (patience {self.patience}); '
                f'best score {self.best_score:.4f} at {self._unit} '
                f'{self.best_step}.')
        return False, ''

    def after_val_epoch(self, runner, metrics: Dict[str, float]) -> None:
        if self.monitor not in metrics:
            return super().after_val_epoch(runner, metrics)  # strict/warn
        step = self._step(runner)
        scores = self._score(runner, metrics)
        score = max(scores.values())
        metrics[self.score_key] = score
        runner.message_hub.update_scalar(f'val/{self.score_key}', score)
        if step <= self.last_step:
            return  # this evaluation is already in the state
        self._counting = self._warmup_over(runner)
        if score > self.best_score:
            self.best_score, self.best_step = score, step
        stop, reason = self._check_stop_condition(score)
        self.last_step = step
        self.history.append(dict(step=step, score=score, counted=self._counting,
                                 best_smoothed=self.best_smoothed,
                                 wait=self.wait_count, **scores))
        runner.logger.info(
            f'SmoothedEarlyStoppingHook: {self._unit} {step}: '
            + ', '.join(f'{k} {v:.4f}' for k, v in scores.items())
            + f'; smoothed best {self.best_smoothed:.4f}, wait '
            f'{self.wait_count}/{self.patience}'
            + ('' if self._counting else ' (warm-up: not counted)'))
        if stop:
            self.stop_reason = f'stopped at {self._unit} {step}: {reason}'
            runner.train_loop.stop_training = True
            runner.logger.info(f'Early stopping: {self.stop_reason}')
