"""Statistics of A/B experiments: figures against SciPy and by hand, then by simulation.

The simulations are on counts, in-process with numpy and fixed seeds, so the file runs in a few
seconds. Run with ``-s`` to see the measured rates (calibration, power, peeking).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats

from analytics.experiment_stats import (
    ALPHA,
    DEFAULT_CONCENTRATION,
    MIN_EXPECTED,
    MIN_VIEWERS_PER_ARM,
    SRM_ALPHA,
    EffectEstimate,
    IndependenceTest,
    SampleRatioCheck,
    SequentialTest,
    difference_interval,
    holm,
    minimum_detectable_effect,
    pearson_independence,
    power_two_proportions,
    relative_difference_interval,
    sample_ratio_mismatch,
    sample_size_per_arm,
    sequential_independence,
)
from analytics.stats import wilson

IntArray = npt.NDArray[np.int64]


def test_constants() -> None:
    assert (MIN_VIEWERS_PER_ARM, MIN_EXPECTED, ALPHA, SRM_ALPHA) == (50, 5, 0.05, 0.001)
    assert DEFAULT_CONCENTRATION == 100


# --- Pearson: figures -------------------------------------------------------------------------


def test_pearson_worked_by_hand() -> None:
    # Arms of 100 and 100, a 2-way choice; column totals 50 and 150 of N = 200.
    # Expected E = row·column/N = 25, 75 in each row. Observed 30/70 and 20/80, so
    # chi² = 5²/25 + 5²/75 + 5²/25 + 5²/75 = 1 + 1/3 + 1 + 1/3 = 8/3, df = (2−1)(2−1) = 1,
    # p = P(chi²₁ > 8/3) = 0.10247 (no Yates correction: with it chi² would be 2.16).
    t = pearson_independence([[30, 70], [20, 80]])
    assert t.statistic == pytest.approx(8 / 3)
    assert t.df == 1
    assert t.p_value == pytest.approx(0.1024704348597)
    assert t.enough_data and t.reason is None
    assert (t.arms, t.categories, t.min_expected) == (2, 2, 25.0)
    assert t.method == "Pearson chi-square (no continuity correction)"


def test_pearson_is_the_pooled_z_test_squared() -> None:
    # On a 2 × 2 table Pearson's chi-square equals z² of the two-proportion z-test.
    x1, n1, x2, n2 = 412, 1000, 455, 1010
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    t = pearson_independence([[x1, n1 - x1], [x2, n2 - x2]])
    assert t.statistic == pytest.approx(z * z)
    assert t.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))


@pytest.mark.parametrize(
    "table",
    [
        [[120, 80, 40], [100, 95, 50]],
        [[55, 60], [70, 45], [80, 52]],
        [[300, 200, 100, 60], [280, 230, 90, 75], [290, 210, 110, 70]],
        [[1000, 1], [1000, 9]],
    ],
)
def test_pearson_matches_scipy(table: list[list[int]]) -> None:
    expected = stats.chi2_contingency(np.array(table), correction=False)
    t = pearson_independence(table)
    assert t.statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert t.p_value == pytest.approx(float(expected.pvalue), rel=1e-9)
    assert t.df == expected.dof
    assert t.min_expected == pytest.approx(float(expected.expected_freq.min()))


def test_pearson_never_applies_yates() -> None:
    table = [[60, 40], [45, 55]]
    with_yates = stats.chi2_contingency(np.array(table), correction=True)
    without = stats.chi2_contingency(np.array(table), correction=False)
    t = pearson_independence(table)
    assert t.statistic == pytest.approx(float(without.statistic))
    assert t.statistic != pytest.approx(float(with_yates.statistic))


def test_pearson_drops_empty_categories() -> None:
    t = pearson_independence([[30, 0, 70, 0], [20, 0, 80, 0]])
    assert (t.categories, t.df) == (2, 1)
    assert t.statistic == pytest.approx(8 / 3)


def test_pearson_not_enough_data_still_shows_figures() -> None:
    small_arm = pearson_independence([[30, 70], [10, 30]])
    assert not small_arm.enough_data
    assert small_arm.p_value is not None and small_arm.statistic is not None
    assert small_arm.reason is not None
    assert "only 40 exposed viewers" in small_arm.reason
    assert "must not be read as a verdict" in small_arm.reason

    rare_choice = pearson_independence([[98, 2], [96, 4]])  # expected counts of 3
    assert not rare_choice.enough_data
    assert rare_choice.reason is not None and "expected count is 3.0" in rare_choice.reason
    assert rare_choice.p_value is not None


# --- Pearson and the others: edge cases -------------------------------------------------------


def _finite_or_none(*values: float | None) -> bool:
    return all(v is None or math.isfinite(v) for v in values)


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ([], "no exposed viewers yet"),
        ([[], []], "no exposed viewers yet"),
        ([[0, 0], [0, 0]], "no exposed viewers yet"),
        ([[40, 60]], "fewer than two arms"),
        ([[40, 60], [0, 0]], "fewer than two arms"),
        ([[0, 100, 0], [0, 120, 0]], "same category"),
    ],
)
def test_pearson_no_test(table: list[list[int]], why: str) -> None:
    t = pearson_independence(table)
    assert (t.statistic, t.df, t.p_value, t.enough_data) == (None, None, None, False)
    assert t.reason is not None and why in t.reason


def test_an_arm_without_viewers_is_left_out_but_blocks_the_verdict() -> None:
    t = pearson_independence([[100, 100], [0, 0], [90, 110]])
    assert t.arms == 2 and t.df == 1 and t.p_value is not None
    assert not t.enough_data
    assert t.reason is not None and "only 0 exposed viewers" in t.reason


def test_huge_counts() -> None:
    big = 10**12
    t = pearson_independence([[big, 2 * big], [big + 5, 2 * big]])
    assert t.enough_data and t.p_value is not None and _finite_or_none(t.statistic, t.p_value)
    assert t.p_value > 0.5
    different = pearson_independence([[big, 2 * big], [2 * big, big]])
    assert different.p_value == 0.0 and different.statistic is not None
    assert math.isfinite(different.statistic)

    s = sequential_independence([[big, 2 * big], [big, 2 * big]], [1, 1])
    assert s.p_value == 1.0 and math.isfinite(s.log_bayes_factor)
    s = sequential_independence([[big, 2 * big], [2 * big, big]], [1, 1])
    assert s.p_value == 0.0 and math.isfinite(s.log_bayes_factor)

    c = sample_ratio_mismatch([big, big + 1], [1, 1])
    assert not c.flagged and c.p_value is not None and c.p_value > 0.9

    e = difference_interval(big // 2, big, big // 2 + 10**6, big)
    assert e.low is not None and e.high is not None and e.low < e.estimate < e.high  # type: ignore[operator]
    r = relative_difference_interval(big // 2, big, big // 2, big)
    assert r.low is not None and r.high is not None and r.low < 0 < r.high


WEIRD_TABLES = [
    [],
    [[]],
    [[0]],
    [[0, 0], [0, 0]],
    [[5]],
    [[5], [7]],
    [[1, 0], [0, 1]],
    [[0, 3], [0, 0]],
    [[10**12, 0], [0, 10**12]],
    [[1, 1, 1], [1, 1, 1], [0, 0, 0]],
]


@pytest.mark.parametrize("table", WEIRD_TABLES)
def test_never_nan(table: list[list[int]]) -> None:
    t = pearson_independence(table)
    assert _finite_or_none(t.statistic, t.p_value, t.min_expected)
    assert t.enough_data is False or t.reason is None
    if not t.enough_data:
        assert t.reason
    weights = [1.0] * len(table)
    s = sequential_independence(table, weights)
    assert math.isfinite(s.log_bayes_factor) and 0 <= s.p_value <= 1
    c = sample_ratio_mismatch([sum(row) for row in table], weights)
    assert _finite_or_none(c.statistic, c.p_value, *c.expected)
    if c.p_value is None:
        assert c.reason and not c.flagged


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="same number"):
        pearson_independence([[1, 2], [3]])
    with pytest.raises(ValueError, match="whole numbers"):
        pearson_independence([[1, -2], [3, 4]])
    with pytest.raises(ValueError, match="whole numbers"):
        pearson_independence([[1, 2.5], [3, 4]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="one weight per arm"):
        sequential_independence([[1, 2], [3, 4]], [1])
    with pytest.raises(ValueError, match="> 0"):
        sample_ratio_mismatch([10, 10], [1, 0])
    with pytest.raises(ValueError, match="concentration"):
        sequential_independence([[1, 2], [3, 4]], [1, 1], concentration=0)
    with pytest.raises(ValueError, match="successes"):
        difference_interval(11, 10, 1, 10)
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, float("nan")])
    with pytest.raises(ValueError, match="p-values"):
        holm([1.2])
    with pytest.raises(ValueError, match="power"):
        sample_size_per_arm(0.4, 0.5, power=0.3)
    with pytest.raises(ValueError, match="p_treatment"):
        sample_size_per_arm(0.4, 1.5)


# --- Holm -------------------------------------------------------------------------------------


def test_holm_worked_by_hand() -> None:
    # m = 4. Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04,
    # raised to 0.06 so the adjusted values stay monotone). None is not a hypothesis.
    adjusted = holm([0.01, 0.04, None, 0.03, 0.005])
    assert adjusted[2] is None
    assert adjusted == [
        pytest.approx(0.03),
        pytest.approx(0.06),
        None,
        pytest.approx(0.06),
        pytest.approx(0.02),
    ]
    assert holm([0.5, 0.6]) == [pytest.approx(1.0), pytest.approx(1.0)]  # capped
    assert holm([]) == [] and holm([None]) == [None]
    assert holm([0.02]) == [0.02]  # one hypothesis: nothing to adjust


def _holm_rejects(p: list[float], alpha: float) -> set[int]:
    """Holm's procedure as he stated it: step down while p_(i) <= alpha / (m − i + 1)."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    rejected: set[int] = set()
    for rank, i in enumerate(order):
        if p[i] > alpha / (len(p) - rank):
            break
        rejected.add(i)
    return rejected


def test_holm_adjusted_values_agree_with_the_step_down_procedure() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        m = int(rng.integers(1, 9))
        p = [float(v) for v in rng.uniform(0, 0.2, m) ** 2]
        adjusted = holm(p)
        assert all(a is not None and r <= a <= 1 for r, a in zip(p, adjusted, strict=True))
        for alpha in (0.01, 0.05, 0.1):
            by_adjusted = {i for i, a in enumerate(adjusted) if a is not None and a <= alpha}
            assert by_adjusted == _holm_rejects(p, alpha)
        ranked = sorted(zip(p, adjusted, strict=True))
        assert all(a1 <= a2 for (_, a1), (_, a2) in itertools.pairwise(ranked))  # type: ignore[operator]


def test_holm_against_statsmodels_when_present() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.0001]
    expected = multitest.multipletests(p, method="holm")[1]
    assert holm(p) == pytest.approx(list(expected))


# --- Sample ratio mismatch --------------------------------------------------------------------


def test_srm_matches_scipy_and_flags_at_one_in_a_thousand() -> None:
    c = sample_ratio_mismatch([5100, 4900], [1, 1])
    ref = stats.chisquare([5100, 4900], [5000, 5000])
    # 100²/5000 + 100²/5000 = 4, p = P(chi²₁ > 4) = 0.0455: not flagged at 0.001.
    assert c.statistic == pytest.approx(4.0) == pytest.approx(float(ref.statistic))
    assert c.p_value == pytest.approx(float(ref.pvalue)) == pytest.approx(0.0455, abs=1e-4)
    assert not c.flagged and c.df == 1

    c = sample_ratio_mismatch([2100, 2900, 5000], [0.2, 0.3, 0.5])  # weights need not sum to 1
    assert c.expected == pytest.approx((2000.0, 3000.0, 5000.0))
    ref = stats.chisquare([2100, 2900, 5000], [2000, 3000, 5000])
    assert c.p_value == pytest.approx(float(ref.pvalue)) and c.df == 2
    assert c.flagged == (float(ref.pvalue) < 0.001)

    c = sample_ratio_mismatch([5200, 4800], [1, 1])
    assert c.flagged and c.observed == (5200, 4800)


def test_srm_small_counts_are_cautioned() -> None:
    c = sample_ratio_mismatch([3, 1], [1, 1])
    assert c.p_value is not None and not c.flagged
    assert c.reason is not None and "rough" in c.reason


def test_srm_false_alarms_are_rare() -> None:
    rng = np.random.default_rng(11)
    counts = rng.multinomial(4000, [0.25, 0.25, 0.5], size=1000)
    flagged = np.mean([sample_ratio_mismatch(row.tolist(), [1, 1, 2]).flagged for row in counts])
    print(f"\nSRM false alarms over 1000 A/A experiments: {flagged:.2%}")
    assert flagged <= 0.005


# --- Intervals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        # Newcombe (1998), Table II, method 10, examples (a), (b), (d), (e), (f).
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0000),
    ],
)
def test_newcombe_published_examples(
    counts: tuple[int, int, int, int], low: float, high: float
) -> None:
    e = difference_interval(*counts)
    assert e.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (round(e.low, 4), round(e.high, 4)) == (low, high)  # type: ignore[arg-type]


def test_newcombe_is_built_from_wilson() -> None:
    x1, n1, x2, n2 = 130, 400, 100, 380
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    e = difference_interval(x1, n1, x2, n2)
    assert e.low == pytest.approx(p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    assert e.high == pytest.approx(p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    wider = difference_interval(x1, n1, x2, n2, confidence=0.99)
    assert wider.low < e.low and wider.high > e.high  # type: ignore[operator]


def test_katz_worked_by_hand() -> None:
    # 30/100 vs 20/100: RR = 1.5, se(log RR) = √(1/30 − 1/100 + 1/20 − 1/100) = 0.25166,
    # 1.5·exp(±1.96·0.25166) = 0.9160 and 2.4564, so the lift is −8.4% to +145.6%.
    e = relative_difference_interval(30, 100, 20, 100)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    z = stats.norm.ppf(0.975)
    assert e.estimate == pytest.approx(0.5)
    assert e.low == pytest.approx(1.5 * math.exp(-z * se) - 1)
    assert e.high == pytest.approx(1.5 * math.exp(z * se) - 1)
    assert (round(e.low, 4), round(e.high, 4)) == (-0.084, 1.4564)  # type: ignore[arg-type]


def test_undefined_effects_say_why() -> None:
    none = difference_interval(0, 0, 5, 10)
    assert (none.estimate, none.low, none.high) == (None, None, None)
    assert none.reason == "the treatment arm has no exposed viewers: the difference is undefined"

    cases: list[tuple[EffectEstimate, float | None, str]] = [
        (relative_difference_interval(5, 10, 0, 10), None, "no control viewer"),
        (relative_difference_interval(0, 10, 5, 10), -1.0, "no treatment viewer"),
        (relative_difference_interval(10, 10, 20, 20), 0.0, "zero width"),
        (relative_difference_interval(3, 10, 0, 0), None, "control arm has no exposed"),
    ]
    for e, estimate, why in cases:
        assert e.estimate == (None if estimate is None else pytest.approx(estimate))
        assert (e.low, e.high) == (None, None)
        assert e.reason is not None and why in e.reason
    # Zero successes are fine for the difference: Wilson handles them.
    zero = difference_interval(0, 50, 0, 50)
    assert zero.estimate == 0 and zero.low is not None and zero.low < 0 < zero.high  # type: ignore[operator]


def test_interval_coverage_by_simulation() -> None:
    rng = np.random.default_rng(5)
    p_t, p_c, n = 0.45, 0.40, 1000
    x_t = rng.binomial(n, p_t, 2000)
    x_c = rng.binomial(n, p_c, 2000)
    diff_hits = lift_hits = 0
    for xt, xc in zip(x_t.tolist(), x_c.tolist(), strict=True):
        d = difference_interval(xt, n, xc, n)
        r = relative_difference_interval(xt, n, xc, n)
        diff_hits += d.low <= p_t - p_c <= d.high  # type: ignore[operator]
        lift_hits += r.low <= p_t / p_c - 1 <= r.high  # type: ignore[operator]
    print(
        f"\ncoverage of 95% intervals: Newcombe {diff_hits / 2000:.1%}, Katz {lift_hits / 2000:.1%}"
    )
    assert 0.93 <= diff_hits / 2000 <= 0.97
    assert 0.93 <= lift_hits / 2000 <= 0.97


# --- Planning ---------------------------------------------------------------------------------


def test_sample_size_worked_by_hand() -> None:
    # p1 = 0.4, p2 = 0.5: p̄ = 0.45, √(2·0.45·0.55) = 0.70356, √(0.24 + 0.25) = 0.7,
    # n = (1.95996·0.70356 + 0.84162·0.7)² / 0.1² = 387.34 (R's power.prop.test agrees): 388.
    assert sample_size_per_arm(0.40, 0.50) == 388
    assert sample_size_per_arm(0.50, 0.40) == 388
    assert (sample_size_per_arm(0.40, 0.45) or 0) > 388 * 3
    assert (sample_size_per_arm(0.40, 0.50, power=0.9) or 0) > 388
    assert (sample_size_per_arm(0.40, 0.50, alpha=0.01) or 0) > 388
    assert sample_size_per_arm(0.0, 1.0) == 2
    assert sample_size_per_arm(0.2, 0.2) is None


@pytest.mark.parametrize("p_control", [0.02, 0.1, 0.4, 0.5, 0.85])
@pytest.mark.parametrize("n", [50, 400, 5000])
def test_minimum_detectable_effect_inverts_sample_size(p_control: float, n: int) -> None:
    for direction, sign in (("increase", 1), ("decrease", -1)):
        mde = minimum_detectable_effect(p_control, n, direction=direction)  # type: ignore[arg-type]
        if mde is None:
            edge = 1.0 if sign > 0 else 0.0
            assert power_two_proportions(p_control, edge, n) < 0.8
            continue
        assert power_two_proportions(p_control, p_control + sign * mde, n) == pytest.approx(0.8)
        needed = sample_size_per_arm(p_control, p_control + sign * mde)
        assert needed is not None and needed in (n, n + 1)
        assert sample_size_per_arm(p_control, p_control + sign * mde * 0.95) > n  # type: ignore[operator]


def test_power_grows_with_the_difference() -> None:
    for p_c in (0.05, 0.3, 0.5, 0.9):
        powers = [power_two_proportions(p_c, p, 300) for p in np.linspace(p_c, 1, 60)[1:]]
        assert all(a <= b + 1e-12 for a, b in itertools.pairwise(powers))


# --- Sequential test: figures -----------------------------------------------------------------


def test_sequential_matches_scipy_dirichlet_multinomial() -> None:
    # BF_k = DirMult(x_k; c·ρ) / Mult(x_k; ρ): the multinomial coefficients cancel.
    table = [[120, 80, 40, 3], [100, 95, 50, 0], [210, 160, 75, 9]]
    weights = [0.25, 0.25, 0.5]
    c = 100.0
    alpha = c * np.array(weights)
    expected = 0.0
    for column in np.array(table).T:
        n = column.sum()
        expected += float(stats.dirichlet_multinomial.logpmf(column, alpha, n))
        expected -= float(stats.multinomial.logpmf(column, n, weights))
    s = sequential_independence(table, weights, concentration=c)
    assert s.log_bayes_factor == pytest.approx(expected, rel=1e-10)
    assert s.p_value == pytest.approx(min(1.0, math.exp(-expected)))
    assert s.viewers == sum(map(sum, table)) and s.concentration == c
    assert "Lindon & Malek 2022" in s.method and "anytime-valid" in s.method


def test_sequential_bayes_factor_has_mean_one_under_the_null() -> None:
    # Exactly: for one category with n viewers, E[BF] over x ~ Multinomial(n, ρ) is 1, so the
    # product over categories is a test martingale.
    rho = [0.2, 0.3, 0.5]
    for n in (1, 4, 9):
        total = 0.0
        for x0 in range(n + 1):
            for x1 in range(n - x0 + 1):
                x = [x0, x1, n - x0 - x1]
                bf = math.exp(sequential_independence([[v] for v in x], rho).log_bayes_factor)
                total += float(stats.multinomial.pmf(x, n, rho)) * bf
        assert total == pytest.approx(1.0, rel=1e-9)


def test_sequential_needs_viewers_and_arms() -> None:
    assert sequential_independence([], []) == SequentialTest(
        "sequential Dirichlet-multinomial test (Lindon & Malek 2022), anytime-valid",
        0.0,
        1.0,
        100.0,
        0,
        "no exposed viewers yet",
    )
    one = sequential_independence([[30, 70]], [1])
    assert one.p_value == 1.0 and one.reason == "only one arm: nothing to compare"
    empty_column = sequential_independence([[30, 0, 70], [20, 0, 80]], [1, 1])
    assert empty_column.log_bayes_factor == pytest.approx(
        sequential_independence([[30, 70], [20, 80]], [1, 1]).log_bayes_factor
    )


def test_sample_ratio_mismatch_makes_the_sequential_test_reject() -> None:
    # Choices identical in both arms, but the treatment arm reaches the node less often.
    table = [[2750, 1650, 1100], [2250, 1350, 900]]
    assert pearson_independence(table).p_value == pytest.approx(1.0)
    assert sequential_independence(table, [1, 1]).p_value < 1e-6
    assert sample_ratio_mismatch([sum(row) for row in table], [1, 1]).flagged


# --- Simulations ------------------------------------------------------------------------------

CHOICES = [0.5, 0.3, 0.2]


def _fixed_arms(
    rng: np.random.Generator, experiments: int, per_arm: int, shares: list[list[float]]
) -> IntArray:
    """Tables (experiments × arms × categories) with exactly ``per_arm`` viewers per arm."""
    return np.stack([rng.multinomial(per_arm, p, size=experiments) for p in shares], axis=1)


def _rejection_rate(tables: IntArray) -> float:
    rejected = 0
    for table in tables:
        t = pearson_independence(table.tolist())
        assert t.enough_data and t.p_value is not None
        rejected += t.p_value <= ALPHA
    return rejected / len(tables)


def test_pearson_calibration_a_a() -> None:
    rng = np.random.default_rng(20240501)
    choice = _rejection_rate(_fixed_arms(rng, 1000, 1000, [CHOICES, CHOICES]))
    completion = _rejection_rate(_fixed_arms(rng, 1000, 1000, [[0.4, 0.6], [0.4, 0.6]]))
    print(f"\nA/A false positives at α=0.05: choice {choice:.1%}, completion {completion:.1%}")
    assert 0.03 <= choice <= 0.07
    assert 0.03 <= completion <= 0.07


def test_pearson_power_for_ten_points() -> None:
    rng = np.random.default_rng(20240502)
    completion = _rejection_rate(_fixed_arms(rng, 500, 1000, [[0.4, 0.6], [0.5, 0.5]]))
    choice = _rejection_rate(_fixed_arms(rng, 500, 1000, [CHOICES, [0.4, 0.4, 0.2]]))
    planned = power_two_proportions(0.4, 0.5, 1000)
    print(
        f"\npower, 10 points, 1000 per arm: completion {completion:.1%} "
        f"(planned {planned:.1%}), choice {choice:.1%}"
    )
    assert completion >= 0.8 and choice >= 0.8
    assert abs(completion - planned) < 0.02


LOOKS = 20  # a look after every 100 viewers per arm, up to 2,000 per arm
BATCH = 200  # viewers per look, each assigned an arm at random with weights 1:1


def _peeking(rng: np.random.Generator, experiments: int, shares: list[list[float]]) -> IntArray:
    """Cumulative tables (experiments × looks × arms × categories) with random assignment.

    Each viewer's (arm, category) cell is drawn with probability ρ_a · share_a(k), so the number
    of viewers per arm varies as it does in a real experiment.
    """
    cells = np.concatenate([0.5 * np.array(s) for s in shares])
    batches = rng.multinomial(BATCH, cells, size=(experiments, LOOKS))
    return np.cumsum(batches, axis=1).reshape(experiments, LOOKS, len(shares), len(shares[0]))


def _pearson_p_values(tables: IntArray) -> npt.NDArray[np.float64]:
    """Pearson p-values of a stack of tables at once, by the textbook formula.

    Vectorised only for speed (10,000 tables); checked against pearson_independence below.
    """
    t = tables.astype(np.float64)
    rows, cols = t.sum(axis=-1, keepdims=True), t.sum(axis=-2, keepdims=True)
    expected = rows * cols / t.sum(axis=(-1, -2), keepdims=True)
    statistic = ((t - expected) ** 2 / expected).sum(axis=(-1, -2))
    df = (t.shape[-2] - 1) * (t.shape[-1] - 1)
    p: npt.NDArray[np.float64] = stats.chi2.sf(statistic, df)
    return p


def _sequential_rejects(tables: IntArray) -> npt.NDArray[np.bool_]:
    """Whether the sequential test rejects at α by each look (stopping at the first)."""
    rejected = np.zeros(tables.shape[:2], dtype=bool)
    for e, looks in enumerate(tables):
        for look, table in enumerate(looks):
            if sequential_independence(table.tolist(), [1, 1]).p_value <= ALPHA:
                rejected[e, look:] = True
                break
    return rejected


def test_peeking_a_a() -> None:
    rng = np.random.default_rng(20240503)
    tables = _peeking(rng, 500, [CHOICES, CHOICES])

    naive = _pearson_p_values(tables)
    for e, look in itertools.product(range(0, 500, 50), range(LOOKS)):
        reference = pearson_independence(tables[e, look].tolist()).p_value
        assert naive[e, look] == pytest.approx(reference, rel=1e-9)
    naive_any = float(np.mean((naive <= ALPHA).any(axis=1)))
    naive_last = float(np.mean(naive[:, -1] <= ALPHA))

    sequential = _sequential_rejects(tables)
    sequential_any = float(np.mean(sequential[:, -1]))
    print(
        f"\nA/A, 20 looks: Pearson rejects at some look {naive_any:.1%} "
        f"(at the last look only {naive_last:.1%}); sequential {sequential_any:.1%}"
    )
    assert naive_any >= 0.15  # far above the nominal 5%
    assert 0.02 <= naive_last <= 0.08
    assert sequential_any <= 0.05


def test_sequential_detects_ten_points_by_two_thousand() -> None:
    rng = np.random.default_rng(20240504)
    choice = _sequential_rejects(_peeking(rng, 500, [CHOICES, [0.4, 0.4, 0.2]]))
    completion = _sequential_rejects(_peeking(rng, 500, [[0.4, 0.6], [0.5, 0.5]]))
    by = {
        n: (float(choice[:, n // 100 - 1].mean()), float(completion[:, n // 100 - 1].mean()))
        for n in (500, 1000, 2000)
    }
    print(
        "\nsequential test, planted 10 points, detected by n per arm (choice, completion): "
        + ", ".join(f"{n}: {c:.1%}, {d:.1%}" for n, (c, d) in by.items())
    )
    assert by[2000][0] >= 0.9 and by[2000][1] >= 0.9


def test_results_are_frozen() -> None:
    t = pearson_independence([[30, 70], [20, 80]])
    with pytest.raises(AttributeError):
        t.p_value = 0.0  # type: ignore[misc]
    assert isinstance(t, IndependenceTest)
    assert isinstance(sample_ratio_mismatch([1, 1], [1, 1]), SampleRatioCheck)
