"""Statistics of A/B experiments on branching stories, from counts only.

A producer runs an experiment by assigning each viewer to an *arm* with known weights. Some
viewers are *exposed*: they reach the node whose variants are being compared. The unit of
analysis is the viewer (their first exposed playthrough), so every count here is a count of
viewers, and each viewer is counted once.

Everything is pure arithmetic on counts (no I/O, no database) and every distribution or special
function comes from SciPy: the chi-square and normal distributions of :mod:`scipy.special`
(``chdtrc``, ``ndtr``, ``ndtri``), :func:`scipy.special.gammaln` and
:func:`scipy.optimize.brentq`. The chi-square statistics are the textbook sums; the tests check
them against :func:`scipy.stats.chi2_contingency` and :func:`scipy.stats.chisquare`. (Importing
``scipy.stats`` costs about a second of CPU, three times ``scipy.special``: a report must stay
under a second from the command line.)

What is here
------------
- :func:`pearson_independence`: is the arm independent of what exposed viewers chose (or of
  whether they completed)? Pearson's chi-square, with a rule for "not enough data".
- :func:`sequential_independence`: the same question, answered by a test that stays valid
  however often the producer looks (Lindon & Malek 2022).
- :func:`sample_ratio_mismatch`: did the arms receive the viewers their weights promise? A
  flagged experiment is broken and its other results are not to be trusted.
- :func:`holm`: Holm's adjustment when several nodes or metrics are tested at once.
- :func:`difference_interval` and :func:`relative_difference_interval`: how big the effect is.
- :func:`sample_size_per_arm`, :func:`power_two_proportions` and
  :func:`minimum_detectable_effect`: how many viewers are needed to see a given effect.

Tables are *arms × categories*: one row per arm, one column per choice (or per outcome, e.g.
completed / not completed), each cell the number of exposed viewers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from analytics.stats import ImpossibleCounts, wilson

__all__ = [
    "ALPHA",
    "DEFAULT_CONCENTRATION",
    "MIN_EXPECTED",
    "MIN_VIEWERS_PER_ARM",
    "SRM_ALPHA",
    "EffectEstimate",
    "IndependenceTest",
    "SampleRatioCheck",
    "SequentialTest",
    "difference_interval",
    "holm",
    "minimum_detectable_effect",
    "pearson_independence",
    "power_two_proportions",
    "relative_difference_interval",
    "sample_ratio_mismatch",
    "sample_size_per_arm",
    "sequential_independence",
]

#: Significance level of the tests and 1 − confidence of the intervals.
ALPHA = 0.05
#: A sample ratio mismatch is flagged below this p-value (strict: a false alarm blocks a report).
SRM_ALPHA = 0.001
#: Pearson's chi-square is trusted only when every expected cell count is at least this.
MIN_EXPECTED = 5
#: ... and every arm has at least this many exposed viewers.
MIN_VIEWERS_PER_ARM = 50
#: Prior concentration ``c`` of the sequential test: Dirichlet(c·ρ), ρ the arm weights.
DEFAULT_CONCENTRATION = 100.0

PEARSON = "Pearson chi-square (no continuity correction)"
SEQUENTIAL = "sequential Dirichlet-multinomial test (Lindon & Malek 2022), anytime-valid"
SRM_METHOD = "chi-square goodness of fit of viewers per arm to the assignment weights"
NEWCOMBE = "Newcombe hybrid score interval (Wilson intervals combined, method 10)"
KATZ = "Katz log risk-ratio interval"

_NOT_A_VERDICT = "the statistic is shown for information and must not be read as a verdict"

FloatArray = npt.NDArray[np.float64]


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndependenceTest:
    """Pearson's chi-square test of independence between arm and category.

    Attributes
    ----------
    method : str
        Name of the test, for reports.
    statistic, df, p_value : float or int or None
        The chi-square statistic, its degrees of freedom and p-value; ``None`` when no test is
        possible (fewer than two arms or two categories with viewers). Never NaN.
    enough_data : bool
        Whether the test may be read as a verdict (every expected count at least
        :data:`MIN_EXPECTED`, every arm at least :data:`MIN_VIEWERS_PER_ARM` viewers).
    reason : str or None
        Why there is not enough data, in words; ``None`` when there is.
    arms, categories : int
        How many arms and categories the test used (arms or categories without viewers are
        left out).
    min_expected : float or None
        The smallest expected cell count under independence.
    """

    method: str
    statistic: float | None
    df: int | None
    p_value: float | None
    enough_data: bool
    reason: str | None
    arms: int
    categories: int
    min_expected: float | None


@dataclass(frozen=True)
class SequentialTest:
    """The anytime-valid test of independence between arm and category.

    Attributes
    ----------
    method : str
        Name of the test, for reports.
    log_bayes_factor : float
        Natural log of the Bayes factor against "arm independent of category, arms assigned by
        the weights" (the value of the test martingale). Positive favours a difference.
    p_value : float
        ``min(1, 1 / Bayes factor)``: valid at any time the data are looked at.
    concentration : float
        The prior concentration ``c`` used.
    viewers : int
        Exposed viewers in the table.
    reason : str or None
        Why the test says nothing yet (no viewers, one arm), or ``None``.
    """

    method: str
    log_bayes_factor: float
    p_value: float
    concentration: float
    viewers: int
    reason: str | None


@dataclass(frozen=True)
class SampleRatioCheck:
    """Whether viewers reached the arms in the proportions of the assignment weights.

    Attributes
    ----------
    method : str
        Name of the test, for reports.
    statistic, df, p_value : float or int or None
        Chi-square goodness-of-fit statistic, degrees of freedom and p-value; ``None`` when
        there is nothing to test (no viewers, one arm).
    flagged : bool
        ``p_value < SRM_ALPHA``: the experiment is broken and its results are not trusted.
    observed : tuple of int
        Viewers per arm.
    expected : tuple of float
        Viewers per arm expected from the weights.
    reason : str or None
        Why there is no test, or a caution when the counts are small; ``None`` otherwise.
    """

    method: str
    statistic: float | None
    df: int | None
    p_value: float | None
    flagged: bool
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    reason: str | None


@dataclass(frozen=True)
class EffectEstimate:
    """A difference between treatment and control with its confidence interval.

    Attributes
    ----------
    method : str
        Name of the interval, for reports.
    estimate : float or None
        The point estimate; ``None`` when undefined.
    low, high : float or None
        The interval; ``None`` when undefined (``reason`` says why).
    confidence : float
        Confidence level of the interval, e.g. 0.95.
    reason : str or None
        Why the estimate or the interval is missing, in words; ``None`` when both are there.
    """

    method: str
    estimate: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str | None


# --- Input checks -----------------------------------------------------------------------------


def _counts_table(table: Sequence[Sequence[int]]) -> FloatArray:
    """An arms × categories table of counts as a float array, after checking it."""
    rows = [list(row) for row in table]
    if not rows:
        return np.zeros((0, 0))
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ValueError("every arm needs the same number of categories")
    array = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    _check_counts(array)
    return array


def _check_counts(array: FloatArray) -> None:
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array != np.floor(array)):
        raise ValueError("counts must be whole numbers >= 0")


def _weights(weights: Sequence[float], arms: int) -> FloatArray:
    """Assignment weights normalised to sum to 1, after checking them."""
    w = np.array(list(weights), dtype=np.float64)
    if w.shape != (arms,):
        raise ValueError(f"need one weight per arm: {arms} arms, {w.size} weights")
    if arms and (not np.all(np.isfinite(w)) or np.any(w <= 0)):
        raise ValueError("weights must be finite and > 0")
    return w / w.sum() if arms else w


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(special.ndtri((1 + confidence) / 2))


def _check_proportion(name: str, p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {p}")


def _check_alpha_power(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0.5 <= power < 1:
        raise ValueError(f"power must be in [0.5, 1), got {power}")


# --- Tests of independence --------------------------------------------------------------------


def pearson_independence(table: Sequence[Sequence[int]]) -> IndependenceTest:
    """Pearson's chi-square test that the arm is independent of the category.

    Categories (columns) that nobody chose, and arms (rows) with no exposed viewer, are left
    out. With fewer than two arms or two categories left there is no test: statistic, df and
    p-value are ``None``. The continuity correction (Yates) is never applied, even with one
    degree of freedom, so the statistic is the plain Pearson statistic.

    Parameters
    ----------
    table : sequence of sequences of int
        Counts of exposed viewers, one row per arm, one column per category.

    Returns
    -------
    IndependenceTest
        ``enough_data`` is false when an expected count is below :data:`MIN_EXPECTED` or an arm
        has fewer than :data:`MIN_VIEWERS_PER_ARM` viewers; the statistic and p-value are then
        still given when computable, but ``reason`` says they must not be read as a verdict.

    Raises
    ------
    ValueError
        If the rows differ in length or a count is negative or not whole.

    Notes
    -----
    The statistic is :math:`\\sum (O - E)^2 / E` with :math:`E = R_a C_k / N`, referred to a
    chi-square with :math:`(A - 1)(K - 1)` degrees of freedom, as computed by
    :func:`scipy.stats.chi2_contingency` with ``correction=False``. The approximation is
    accurate when expected counts are not small (Cochran's rule of 5).

    Examples
    --------
    Arm A: 30 of 100 viewers took the left door; arm B: 20 of 100. Expected counts are
    25 and 75 in each row, so the statistic is 2·(5²/25) + 2·(5²/75) = 8/3:

    >>> t = pearson_independence([[30, 70], [20, 80]])
    >>> round(t.statistic, 4), t.df, round(t.p_value, 4), t.enough_data
    (2.6667, 1, 0.1025, True)

    Too few viewers: the figures are there, the verdict is not.

    >>> t = pearson_independence([[3, 7], [2, 8]])
    >>> t.enough_data, round(t.p_value, 3)
    (False, 0.606)
    >>> t.reason
    'an arm has only 10 exposed viewers (at least 50 per arm are needed); ...'

    Nothing to compare when everyone chose the same:

    >>> t = pearson_independence([[60, 0], [70, 0]])
    >>> t.p_value is None, t.enough_data, t.reason
    (True, False, 'every exposed viewer is in the same category: there is nothing to compare')
    """
    counts = _counts_table(table)
    if counts.size:
        counts = counts[:, counts.sum(axis=0) > 0]
    arms_total = counts.shape[0]
    per_arm = counts.sum(axis=1) if counts.size else np.zeros(arms_total)
    kept = counts[per_arm > 0] if counts.size else counts
    arms, categories = kept.shape if kept.size else (0, 0)

    problems: list[str] = []
    if counts.size and per_arm.min() < MIN_VIEWERS_PER_ARM:
        problems.append(
            f"an arm has only {int(per_arm.min())} exposed viewers "
            f"(at least {MIN_VIEWERS_PER_ARM} per arm are needed)"
        )
    if arms < 2 or categories < 2:
        if not counts.size or per_arm.sum() == 0:
            why = "no exposed viewers yet"
        elif arms < 2:
            why = "fewer than two arms have exposed viewers: there is nothing to compare"
        else:
            why = "every exposed viewer is in the same category: there is nothing to compare"
        return IndependenceTest(PEARSON, None, None, None, False, why, arms, categories, None)

    # Pearson's statistic against the counts expected under independence (row total × column
    # total / grand total), on (arms - 1)(categories - 1) degrees of freedom; no Yates term.
    expected = np.outer(kept.sum(axis=1), kept.sum(axis=0)) / kept.sum()
    statistic = float(np.sum((kept - expected) ** 2 / expected))
    dof = (arms - 1) * (categories - 1)
    min_expected = float(np.min(expected))
    if min_expected < MIN_EXPECTED:
        problems.append(
            f"an expected count is {min_expected:.1f} (every one must be at least {MIN_EXPECTED})"
        )
    reason = "; ".join([*problems, _NOT_A_VERDICT]) if problems else None
    return IndependenceTest(
        method=PEARSON,
        statistic=statistic,
        df=dof,
        p_value=float(special.chdtrc(dof, statistic)),
        enough_data=not problems,
        reason=reason,
        arms=arms,
        categories=categories,
        min_expected=min_expected,
    )


def sequential_independence(
    table: Sequence[Sequence[int]],
    weights: Sequence[float],
    concentration: float = DEFAULT_CONCENTRATION,
) -> SequentialTest:
    """An anytime-valid test that the arm is independent of the category.

    Unlike Pearson's test, its p-value may be read after every viewer, every day, and the
    experiment stopped as soon as it is small: the chance that it *ever* falls to α or below
    when nothing differs is at most α.

    Parameters
    ----------
    table : sequence of sequences of int
        Counts of exposed viewers, one row per arm, one column per category.
    weights : sequence of float
        Assignment weights of the arms (any positive scale; they are normalised).
    concentration : float
        Prior concentration ``c`` > 0 (see Notes); the default is 100.

    Returns
    -------
    SequentialTest
        With ``p_value = min(1, 1/BF)``, never NaN. With no viewers it is 1.

    Raises
    ------
    ValueError
        On malformed counts, weights that are not positive, or ``concentration <= 0``.

    Notes
    -----
    *Null hypothesis.* The arm of a viewer is independent of their category, and arms are
    assigned with the known weights ρ. Then, given the categories, each exposed viewer's arm is
    an independent draw from Multinomial(1, ρ), whatever the categories' own distribution.

    *Statistic.* For category k with counts :math:`x_k = (x_{k,1}, …, x_{k,A})` over the arms,
    the Bayes factor of a Dirichlet(α) mixture against the simple null ρ is

    .. math:: BF_k = \\frac{B(α + x_k) / B(α)}{\\prod_a ρ_a^{x_{k,a}}},
              \\qquad B(α) = \\frac{\\prod_a Γ(α_a)}{Γ(\\sum_a α_a)},

    with α = c·ρ, computed in log space with :func:`scipy.special.gammaln`. The test statistic
    is :math:`\\prod_k BF_k` and the p-value :math:`\\min(1, 1/\\prod_k BF_k)`.

    *Why it is valid at any time.* Take the viewers in the order they arrive. When a viewer in
    category k joins, :math:`BF_k` is multiplied by the posterior-predictive probability of
    their arm a, :math:`(α_a + x_{k,a}) / (\\sum α + n_k)`, divided by :math:`ρ_a`. Under the
    null its expectation given the past and the category is
    :math:`\\sum_a ρ_a (α_a + x_{k,a}) / ((\\sum α + n_k) ρ_a) = 1`, so the product over
    categories is a nonnegative martingale with mean 1 (a test martingale), and Ville's
    inequality gives :math:`P(\\sup_t \\prod_k BF_k \\ge 1/α) \\le α`. The Dirichlet-
    multinomial is exchangeable, so the Bayes factor depends on the counts only, not on the
    order of arrival. This is the multinomial test of Lindon & Malek (2022) applied to each
    category's arm counts against the assignment weights.

    *Prior.* α = c·ρ centres the prior on "no difference"; c is the number of pseudo-viewers
    it is worth. The default c = 100 is the default of the reference implementation by the
    paper's first author; with two equal arms it gives a prior standard deviation of an arm's
    share within a category of about 0.5/√101 ≈ 0.05, i.e. it is tuned to differences of a few
    points. Validity holds for every c > 0; only power depends on it.

    *Sample ratio mismatch.* If the arms do not receive viewers in the proportions ρ (a bug in
    assignment, or an arm that changes who reaches the node), the null is false in every
    category and this test rejects even when choices do not differ. Run
    :func:`sample_ratio_mismatch` alongside it and do not trust either test when it is flagged.

    References
    ----------
    .. [1] M. Lindon and A. Malek, "Anytime-Valid Inference for Multinomial Count Data",
       Advances in Neural Information Processing Systems 35 (NeurIPS 2022).
    .. [2] J. Ville, "Étude critique de la notion de collectif", Gauthier-Villars, 1939.

    Examples
    --------
    Two equal arms and three choices:

    >>> t = sequential_independence([[500, 300, 200], [400, 400, 200]], [1, 1])
    >>> t.p_value < 0.001, round(t.log_bayes_factor, 1)
    (True, 8.3)

    Identical choices give no evidence at all (p = 1):

    >>> sequential_independence([[500, 300, 200], [500, 300, 200]], [1, 1]).p_value
    1.0
    """
    if not concentration > 0 or not math.isfinite(concentration):
        raise ValueError(f"concentration must be > 0, got {concentration}")
    counts = _counts_table(table)
    arms = counts.shape[0]
    rho = _weights(weights, arms)
    viewers = int(counts.sum()) if counts.size else 0
    if arms < 2 or viewers == 0:
        why = "no exposed viewers yet" if viewers == 0 else "only one arm: nothing to compare"
        return SequentialTest(SEQUENTIAL, 0.0, 1.0, concentration, viewers, why)

    prior = concentration * rho  # one Dirichlet per category (column), the same for all
    x = counts.T  # categories × arms
    log_mixture = (
        np.sum(special.gammaln(prior + x), axis=1)
        - special.gammaln(concentration + x.sum(axis=1))
        - (np.sum(special.gammaln(prior)) - special.gammaln(concentration))
    )
    log_null = x @ np.log(rho)
    log_bf = float(np.sum(log_mixture - log_null))
    p_value = math.exp(-log_bf) if log_bf > 0 else 1.0
    return SequentialTest(SEQUENTIAL, log_bf, p_value, concentration, viewers, None)


# --- Sample ratio mismatch --------------------------------------------------------------------


def sample_ratio_mismatch(
    observed_units_per_arm: Sequence[int], weights: Sequence[float]
) -> SampleRatioCheck:
    """Check that the arms received viewers in proportion to their assignment weights.

    Parameters
    ----------
    observed_units_per_arm : sequence of int
        Viewers (units) per arm.
    weights : sequence of float
        Assignment weights, one per arm, all > 0 (any scale).

    Returns
    -------
    SampleRatioCheck
        Flagged when the p-value is below :data:`SRM_ALPHA` (0.001).

    Notes
    -----
    :func:`scipy.stats.chisquare` against expected counts total × weight / Σweights, with
    (arms − 1) degrees of freedom. With expected counts below :data:`MIN_EXPECTED` the
    chi-square approximation is rough; ``reason`` then says so.

    Examples
    --------
    >>> c = sample_ratio_mismatch([5000, 5000], [1, 1])
    >>> c.flagged, c.p_value
    (False, 1.0)
    >>> c = sample_ratio_mismatch([5200, 4800], [0.5, 0.5])
    >>> c.flagged, round(c.statistic, 1), c.p_value < 1e-4
    (True, 16.0, True)
    """
    observed = np.array(list(observed_units_per_arm), dtype=np.float64)
    _check_counts(observed)
    rho = _weights(weights, observed.size)
    observed_ints = tuple(int(v) for v in observed)
    total = float(observed.sum())
    expected = total * rho
    expected_tuple = tuple(float(v) for v in expected)
    if observed.size < 2 or total == 0:
        why = "no viewers yet" if total == 0 else "only one arm: nothing to check"
        return SampleRatioCheck(
            SRM_METHOD, None, None, None, False, observed_ints, expected_tuple, why
        )
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    p_value = float(special.chdtrc(observed.size - 1, statistic))
    reason = None
    if expected.min() < MIN_EXPECTED:
        reason = f"few viewers (an arm expects fewer than {MIN_EXPECTED}): the check is rough"
    return SampleRatioCheck(
        method=SRM_METHOD,
        statistic=statistic,
        df=observed.size - 1,
        p_value=p_value,
        flagged=p_value < SRM_ALPHA,
        observed=observed_ints,
        expected=expected_tuple,
        reason=reason,
    )


# --- Multiple testing -------------------------------------------------------------------------


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of p-values for testing several hypotheses at once.

    Rejecting every hypothesis whose adjusted p-value is at most α keeps the chance of any false
    rejection (the family-wise error rate) at most α, under any dependence between the tests.

    Parameters
    ----------
    p_values : sequence of float or None
        Raw p-values in [0, 1]; ``None`` (a test that could not be made) stays ``None`` and is
        not counted among the hypotheses.

    Returns
    -------
    list of float or None
        Adjusted p-values in the input order: with the m p-values sorted,
        :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min(1, (m - j + 1) p_{(j)})`, so they are
        monotone in the raw p-values and capped at 1.

    Raises
    ------
    ValueError
        If a p-value is NaN or outside [0, 1].

    References
    ----------
    .. [1] S. Holm, "A simple sequentially rejective multiple test procedure",
       Scandinavian Journal of Statistics 6(2):65–70, 1979.

    Examples
    --------
    Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max so far 0.06:

    >>> [round(p, 4) if p is not None else None for p in holm([0.01, 0.04, None, 0.03, 0.005])]
    [0.03, 0.06, None, 0.06, 0.02]
    """
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    for p, _ in present:
        if not 0 <= p <= 1:  # also rejects NaN
            raise ValueError(f"p-values must be in [0, 1], got {p}")
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


# --- Effect sizes -----------------------------------------------------------------------------


def difference_interval(
    x_treat: int, n_treat: int, x_ctrl: int, n_ctrl: int, confidence: float = 1 - ALPHA
) -> EffectEstimate:
    """The difference of two proportions, treatment − control, with a confidence interval.

    Parameters
    ----------
    x_treat, n_treat : int
        Viewers with the outcome, and exposed viewers, in the treatment arm.
    x_ctrl, n_ctrl : int
        The same in the control arm.
    confidence : float
        Confidence level, 0.95 by default.

    Returns
    -------
    EffectEstimate
        ``estimate = x_treat/n_treat − x_ctrl/n_ctrl``, in [−1, 1] as is the interval.
        Everything is ``None`` when an arm has no viewers.

    Notes
    -----
    Newcombe's hybrid score interval (his method 10): with :math:`(l_i, u_i)` the Wilson
    interval of :math:`p_i` (:func:`analytics.stats.wilson`) and :math:`d = p_1 - p_2`,

    .. math:: \\left[d - \\sqrt{(p_1 - l_1)^2 + (u_2 - p_2)^2},\\;
              d + \\sqrt{(u_1 - p_1)^2 + (p_2 - l_2)^2}\\right].

    Unlike the textbook Wald interval it keeps close to its nominal coverage with small
    samples and proportions near 0 or 1, and is defined when a count is 0.

    References
    ----------
    .. [1] R. G. Newcombe, "Interval estimation for the difference between independent
       proportions: comparison of eleven methods", Statistics in Medicine 17:873–890, 1998.

    Examples
    --------
    Newcombe's examples (a) 56/70 − 48/80, where he gives 0.0524 to 0.3339, and (f)
    10/10 − 0/20, where he gives 0.6791 to 1:

    >>> e = difference_interval(56, 70, 48, 80)
    >>> round(e.estimate, 4), round(e.low, 4), round(e.high, 4)
    (0.2, 0.0524, 0.3339)
    >>> e = difference_interval(10, 10, 0, 20)
    >>> round(e.estimate, 4), round(e.low, 4), round(e.high, 4)
    (1.0, 0.6791, 1.0)
    >>> difference_interval(3, 10, 0, 0).reason
    'the control arm has no exposed viewers: the difference is undefined'
    """
    z = _z(confidence)
    for name, x, n in (("treatment", x_treat, n_treat), ("control", x_ctrl, n_ctrl)):
        if not 0 <= x <= n:
            raise ImpossibleCounts(f"{name}: need 0 <= successes <= trials, got {x}/{n}")
    for name, n in (("treatment", n_treat), ("control", n_ctrl)):
        if n == 0:
            why = f"the {name} arm has no exposed viewers: the difference is undefined"
            return EffectEstimate(NEWCOMBE, None, None, None, confidence, why)
    p1, p2 = x_treat / n_treat, x_ctrl / n_ctrl
    l1, u1 = wilson(x_treat, n_treat, z)
    l2, u2 = wilson(x_ctrl, n_ctrl, z)
    d = p1 - p2
    low = d - math.hypot(p1 - l1, u2 - p2)
    high = d + math.hypot(u1 - p1, p2 - l2)
    return EffectEstimate(NEWCOMBE, d, max(-1.0, low), min(1.0, high), confidence, None)


def relative_difference_interval(
    x_treat: int, n_treat: int, x_ctrl: int, n_ctrl: int, confidence: float = 1 - ALPHA
) -> EffectEstimate:
    """The relative lift p_treat / p_ctrl − 1 with a confidence interval.

    Parameters
    ----------
    x_treat, n_treat : int
        Viewers with the outcome, and exposed viewers, in the treatment arm.
    x_ctrl, n_ctrl : int
        The same in the control arm.
    confidence : float
        Confidence level, 0.95 by default.

    Returns
    -------
    EffectEstimate
        The lift (0.25 means 25% more). Undefined cases give ``None`` with a ``reason``: an arm
        without viewers, or no control viewer with the outcome (estimate and interval); no
        treatment viewer with the outcome (the lift is −1 but the interval is undefined);
        every viewer in both arms with the outcome (the interval would have zero width).

    Notes
    -----
    Katz's interval: the log risk ratio :math:`\\log(p_1/p_2)` is treated as normal with
    variance :math:`1/x_1 - 1/n_1 + 1/x_2 - 1/n_2`, and
    :math:`\\exp(\\log(p_1/p_2) \\pm z\\,\\mathrm{se}) - 1` is the interval, z from
    :func:`scipy.stats.norm`. It is a large-sample interval; with few viewers with the outcome
    prefer reading :func:`difference_interval`.

    References
    ----------
    .. [1] D. Katz, J. Baptista, S. P. Azen and M. C. Pike, "Obtaining confidence intervals
       for the risk ratio in cohort studies", Biometrics 34(3):469–474, 1978.

    Examples
    --------
    30/100 vs 20/100: ratio 1.5, se = √(1/30 − 1/100 + 1/20 − 1/100) ≈ 0.2517:

    >>> e = relative_difference_interval(30, 100, 20, 100)
    >>> round(e.estimate, 4), round(e.low, 4), round(e.high, 4)
    (0.5, -0.084, 1.4564)
    >>> relative_difference_interval(3, 100, 0, 100).reason
    'no control viewer has the outcome: the relative lift is undefined'
    """
    z = _z(confidence)
    for name, x, n in (("treatment", x_treat, n_treat), ("control", x_ctrl, n_ctrl)):
        if not 0 <= x <= n:
            raise ImpossibleCounts(f"{name}: need 0 <= successes <= trials, got {x}/{n}")
    for name, n in (("treatment", n_treat), ("control", n_ctrl)):
        if n == 0:
            why = f"the {name} arm has no exposed viewers: the relative lift is undefined"
            return EffectEstimate(KATZ, None, None, None, confidence, why)
    if x_ctrl == 0:
        why = "no control viewer has the outcome: the relative lift is undefined"
        return EffectEstimate(KATZ, None, None, None, confidence, why)
    lift = (x_treat / n_treat) / (x_ctrl / n_ctrl) - 1
    if x_treat == 0:
        why = "no treatment viewer has the outcome: the interval of the log ratio is undefined"
        return EffectEstimate(KATZ, lift, None, None, confidence, why)
    variance = 1 / x_treat - 1 / n_treat + 1 / x_ctrl - 1 / n_ctrl
    if variance <= 0:
        why = "every viewer in both arms has the outcome: the interval would have zero width"
        return EffectEstimate(KATZ, lift, None, None, confidence, why)
    log_ratio = math.log(x_treat / n_treat) - math.log(x_ctrl / n_ctrl)
    half = z * math.sqrt(variance)
    low = math.expm1(log_ratio - half)
    high = math.expm1(log_ratio + half)
    return EffectEstimate(KATZ, lift, low, high, confidence, None)


# --- Planning ---------------------------------------------------------------------------------


def _sample_size_exact(p_control: float, p_treatment: float, alpha: float, power: float) -> float:
    z_alpha = float(special.ndtri(1 - alpha / 2))
    z_beta = float(special.ndtri(power))
    p_bar = (p_control + p_treatment) / 2
    spread = z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_beta * math.sqrt(
        p_control * (1 - p_control) + p_treatment * (1 - p_treatment)
    )
    return (spread / (p_treatment - p_control)) ** 2


def sample_size_per_arm(
    p_control: float, p_treatment: float, alpha: float = ALPHA, power: float = 0.8
) -> int | None:
    """Viewers needed in each of two equal arms to detect ``p_control`` vs ``p_treatment``.

    Parameters
    ----------
    p_control, p_treatment : float
        The two proportions, in [0, 1].
    alpha : float
        Two-sided significance level.
    power : float
        Wanted chance of detecting the difference, in [0.5, 1).

    Returns
    -------
    int or None
        The smallest whole number of viewers per arm; ``None`` when the proportions are equal
        (no number of viewers suffices).

    Notes
    -----
    For the two-sided two-proportion z-test (pooled variance under the null), the usual
    normal-approximation formula without continuity correction (as R's ``power.prop.test``):

    .. math:: n = \\frac{\\left(z_{1-α/2}\\sqrt{2\\bar p\\bar q}
              + z_{1-β}\\sqrt{p_1 q_1 + p_2 q_2}\\right)^2}{(p_1 - p_2)^2},
              \\qquad \\bar p = (p_1 + p_2)/2,

    with z from :func:`scipy.stats.norm.ppf`. Pearson's chi-square on a 2 × 2 table is the same
    test as this z-test.

    Examples
    --------
    R's ``power.prop.test(p1 = 0.4, p2 = 0.5, power = 0.8)`` gives n = 387.34:

    >>> sample_size_per_arm(0.40, 0.50)
    388
    >>> sample_size_per_arm(0.3, 0.3) is None
    True
    """
    _check_proportion("p_control", p_control)
    _check_proportion("p_treatment", p_treatment)
    _check_alpha_power(alpha, power)
    if p_control == p_treatment:
        return None
    return max(1, math.ceil(_sample_size_exact(p_control, p_treatment, alpha, power) - 1e-9))


def power_two_proportions(
    p_control: float, p_treatment: float, n_per_arm: float, alpha: float = ALPHA
) -> float:
    """Approximate power of the two-sided two-proportion z-test with ``n_per_arm`` per arm.

    Parameters
    ----------
    p_control, p_treatment : float
        The two proportions, in [0, 1].
    n_per_arm : float
        Viewers in each of two equal arms, > 0.
    alpha : float
        Two-sided significance level.

    Returns
    -------
    float
        The chance of a significant result,
        :math:`\\Phi\\left((|p_1 - p_2|\\sqrt n - z_{1-α/2}\\sqrt{2\\bar p\\bar q})
        / \\sqrt{p_1 q_1 + p_2 q_2}\\right)`: the inverse of :func:`sample_size_per_arm`
        (same normal approximation; the tiny chance of rejecting in the wrong direction is
        ignored).

    Examples
    --------
    >>> round(power_two_proportions(0.40, 0.50, 388), 3)
    0.801
    >>> round(power_two_proportions(0.40, 0.50, 1000), 3)
    0.995
    """
    _check_proportion("p_control", p_control)
    _check_proportion("p_treatment", p_treatment)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n_per_arm <= 0:
        raise ValueError(f"n_per_arm must be > 0, got {n_per_arm}")
    z_alpha = float(special.ndtri(1 - alpha / 2))
    p_bar = (p_control + p_treatment) / 2
    null_sd = math.sqrt(2 * p_bar * (1 - p_bar))
    alt_sd = math.sqrt(p_control * (1 - p_control) + p_treatment * (1 - p_treatment))
    shift = abs(p_treatment - p_control) * math.sqrt(n_per_arm)
    if alt_sd == 0:  # 0 vs 1, or equal proportions at 0 or 1
        return 1.0 if shift > z_alpha * null_sd else 0.0
    return float(special.ndtr((shift - z_alpha * null_sd) / alt_sd))


def minimum_detectable_effect(
    p_control: float,
    n_per_arm: int,
    alpha: float = ALPHA,
    power: float = 0.8,
    direction: Literal["increase", "decrease"] = "increase",
) -> float | None:
    """The smallest absolute difference detectable with ``n_per_arm`` viewers in each arm.

    Parameters
    ----------
    p_control : float
        The control proportion, in [0, 1].
    n_per_arm : int
        Viewers in each of two equal arms, > 0.
    alpha, power : float
        As for :func:`sample_size_per_arm`.
    direction : {"increase", "decrease"}
        Whether the treatment proportion is above or below the control one.

    Returns
    -------
    float or None
        The positive difference δ at which ``p_control ± δ`` is detected with exactly the given
        power (so ``sample_size_per_arm(p_control, p_control ± δ)`` is ``n_per_arm``, or one
        more through rounding). ``None`` when even a treatment proportion of 1 (or 0) would not
        be detected.

    Notes
    -----
    Solves :func:`power_two_proportions` = ``power`` for the treatment proportion with
    :func:`scipy.optimize.brentq`. The difference is on the proportion scale: 0.05 is 5
    points.

    Examples
    --------
    >>> round(minimum_detectable_effect(0.40, 388), 4)
    0.0999
    >>> round(minimum_detectable_effect(0.40, 1000), 4)
    0.062
    >>> minimum_detectable_effect(0.99, 10) is None
    True
    """
    _check_proportion("p_control", p_control)
    _check_alpha_power(alpha, power)
    if n_per_arm <= 0:
        raise ValueError(f"n_per_arm must be > 0, got {n_per_arm}")
    sign = 1.0 if direction == "increase" else -1.0
    reach = (1 - p_control) if direction == "increase" else p_control
    if (
        reach <= 0
        or power_two_proportions(p_control, p_control + sign * reach, n_per_arm, alpha) < power
    ):
        return None

    def shortfall(delta: float) -> float:
        return power_two_proportions(p_control, p_control + sign * delta, n_per_arm, alpha) - power

    from scipy import optimize  # only here: it is slow to import and rarely needed

    # Power is alpha/2 < 0.5 <= power as delta -> 0 and at least `power` at `reach`.
    root: float = optimize.brentq(shortfall, 1e-12, reach, xtol=1e-12)
    return root
