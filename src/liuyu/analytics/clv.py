"""Customer lifetime value: BG/NBD for how often a customer will buy, Gamma-Gamma for how much.

Written on scipy because the maintained packages do not install on the numpy/pandas we use
(``lifetimes`` 0.11 needs pandas and autograd 1.4; ``btyd`` pulls pymc 4 and aesara). The
formulas are those of Fader, Hardie and Lee, "Counting your customers the easy way" (2005) and
Fader and Hardie, "The Gamma-Gamma model of monetary value" (2013).

Inputs per customer, in one time unit (liuyu uses weeks):
``frequency`` x = repeat purchases (distinct purchase days minus one), ``recency`` t_x = time
from first to last purchase, ``age`` T = time from first purchase to the end of observation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PurchaseSummary:
    """Frequency, recency and age of each customer at the end of the observation period."""

    customer_ids: tuple[str, ...]
    frequency: Array
    recency: Array
    age: Array
    mean_spend: Array  # mean value of the repeat purchases; 0 where there are none


def summarize(
    purchases: Iterable[tuple[str, date, Decimal | float]], end: date, unit_days: float = 7.0
) -> PurchaseSummary:
    """Summarize (customer, day, amount) rows; several rows on one day are one purchase."""
    days: dict[str, dict[date, float]] = {}
    for customer_id, day, amount in purchases:
        if day > end:
            continue
        per_day = days.setdefault(customer_id, {})
        per_day[day] = per_day.get(day, 0.0) + float(amount)
    ids = tuple(sorted(days))
    frequency = np.zeros(len(ids))
    recency = np.zeros(len(ids))
    age = np.zeros(len(ids))
    mean_spend = np.zeros(len(ids))
    for i, customer_id in enumerate(ids):
        ordered = sorted(days[customer_id])
        first, last = ordered[0], ordered[-1]
        frequency[i] = len(ordered) - 1
        recency[i] = (last - first).days / unit_days
        age[i] = (end - first).days / unit_days
        if len(ordered) > 1:
            mean_spend[i] = sum(days[customer_id][d] for d in ordered[1:]) / (len(ordered) - 1)
    return PurchaseSummary(ids, frequency, recency, age, mean_spend)


def _arrays(*values: ArrayLike) -> tuple[Array, ...]:
    return tuple(np.asarray(v, dtype=np.float64) for v in values)


@dataclass(frozen=True, slots=True)
class BgNbd:
    """A fitted BG/NBD model: purchase rates ~ Gamma(r, alpha), drop-out chance ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> Array:
        """Log-likelihood of each customer's (x, t_x, T)."""
        x, tx, t_end = _arrays(frequency, recency, age)
        return _bgnbd_log_likelihood(np.log([self.r, self.alpha, self.a, self.b]), x, tx, t_end)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> Array:
        """Probability that the customer has not dropped out by the end of observation."""
        x, tx, t_end = _arrays(frequency, recency, age)
        return 1.0 / (1.0 + self._dead_odds(x, tx, t_end))

    def _dead_odds(self, x: Array, tx: Array, t_end: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (self.a / (self.b + x - 1.0)) * np.exp(
                (self.r + x) * (np.log(self.alpha + t_end) - np.log(self.alpha + tx))
            )
        return np.where(x > 0, odds, 0.0)

    def expected_purchases(self, horizon: float, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> Array:
        """Expected number of purchases in the next ``horizon`` time units, given the history."""
        x, tx, t_end = _arrays(frequency, recency, age)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + t_end + horizon)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        head = (a + b + x - 1.0) / (a - 1.0)
        body = 1.0 - np.exp((r + x) * np.log((alpha + t_end) / (alpha + t_end + horizon))) * hyp
        return head * body / (1.0 + self._dead_odds(x, tx, t_end))

    def expected_purchases_new(self, horizon: float) -> float:
        """Expected purchases of a customer newly acquired, over ``horizon`` time units."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + horizon)
        tail = (alpha / (alpha + horizon)) ** r * special.hyp2f1(r, b, a + b - 1.0, z)
        return float((a + b - 1.0) / (a - 1.0) * (1.0 - tail))

    def purchase_distribution(
        self, horizon: float, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike, most: int = 60
    ) -> Array:
        """P(exactly k purchases in the next ``horizon``) for k = 0..most, one row per customer.

        Given the history, a customer is alive with P(alive); then the rate is Gamma(r + x, alpha + T)
        and the drop-out chance Beta(a, b + x), independently. The last column holds "most or more".
        """
        x, tx, t_end = _arrays(frequency, recency, age)
        alive = self.p_alive(x, tx, t_end)[:, None]
        k = np.arange(most + 1, dtype=np.float64)[None, :]
        xs = x[:, None]
        # Purchases in the horizon if nobody dropped out: negative binomial (gamma-mixed Poisson).
        stay = ((self.alpha + t_end) / (self.alpha + t_end + horizon))[:, None]
        log_arrivals = (
            special.gammaln(self.r + xs + k)
            - special.gammaln(self.r + xs)
            - special.gammaln(k + 1.0)
            + (self.r + xs) * np.log(stay)
            + k * np.log1p(-stay)
        )
        arrivals = np.exp(log_arrivals)
        at_least = 1.0 - np.cumsum(arrivals, axis=1) + arrivals  # P(N >= k)
        log_beta = special.betaln(self.a, self.b + xs)
        keep_k = np.exp(special.betaln(self.a, self.b + xs + k) - log_beta)  # E[(1-p)^k]
        stop_after = np.exp(special.betaln(self.a + 1.0, self.b + xs + k - 1.0) - log_beta)  # E[p (1-p)^(k-1)]
        stop_after[:, 0] = 0.0
        alive_pmf = stop_after * at_least + keep_k * arrivals
        pmf = alive * alive_pmf
        pmf[:, 0] += 1.0 - alive[:, 0]
        pmf[:, -1] += np.clip(1.0 - pmf.sum(axis=1), 0.0, None)
        return pmf


def _bgnbd_log_likelihood(log_params: Array, x: Array, tx: Array, t_end: Array) -> Array:
    r, alpha, a, b = np.exp(log_params)
    common = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    still = -(r + x) * np.log(alpha + t_end)
    with np.errstate(divide="ignore", invalid="ignore"):
        gone = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) - (r + x) * np.log(alpha + tx), -np.inf
        )
    return common + np.logaddexp(still, gone)


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, age: ArrayLike, penalty: float = 0.0) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters (optimised on the log scale, so they stay positive).

    ``penalty`` adds a small L2 pull of the log parameters towards 0, which keeps tiny samples
    from running off to extreme values; 0 is plain maximum likelihood.
    """
    x, tx, t_end = _arrays(frequency, recency, age)
    if len(x) == 0:
        raise ValueError("no customers to fit")
    # Customers with identical histories share one likelihood term: weight the unique rows.
    rows, counts = np.unique(np.stack([x, tx, t_end], axis=1), axis=0, return_counts=True)
    ux, utx, ut = rows[:, 0], rows[:, 1], rows[:, 2]
    weights = counts.astype(np.float64)

    def loss(log_params: Array) -> float:
        ll = _bgnbd_log_likelihood(log_params, ux, utx, ut)
        return float(-(weights * ll).sum() / weights.sum() + penalty * np.sum(log_params**2))

    start = np.log([1.0, max(float(t_end.mean()), 1.0), 1.0, 1.0])
    result = optimize.minimize(
        loss, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10}
    )
    result = optimize.minimize(loss, result.x, method="L-BFGS-B")
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(float(r), float(alpha), float(a), float(b))


@dataclass(frozen=True, slots=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model: each customer's mean spend varies around a Gamma(q, v) mean."""

    p: float
    q: float
    v: float

    def expected_spend(self, frequency: ArrayLike, mean_spend: ArrayLike) -> Array:
        """Expected value of a customer's next purchase; the population mean where x = 0."""
        x, m = _arrays(frequency, mean_spend)
        population = self.p * self.v / (self.q - 1.0)
        weight = self.p * x / (self.p * x + self.q - 1.0)
        return (1.0 - weight) * population + weight * m


def fit_gamma_gamma(frequency: ArrayLike, mean_spend: ArrayLike) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters over customers with at least one repeat purchase."""
    x, m = _arrays(frequency, mean_spend)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) == 0:
        raise ValueError("no repeat buyers to fit spend on")

    def loss(log_params: Array) -> float:
        p, q, v = np.exp(log_params)
        ll = (
            special.gammaln(p * x + q)
            - special.gammaln(p * x)
            - special.gammaln(q)
            + q * np.log(v)
            + (p * x - 1.0) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(x * m + v)
        )
        return float(-ll.mean())

    start = np.log([1.0, 2.0, float(np.mean(m))])
    result = optimize.minimize(loss, start, method="Nelder-Mead", options={"maxiter": 4000})
    result = optimize.minimize(loss, result.x, method="L-BFGS-B")
    p, q, v = np.exp(result.x)
    return GammaGamma(float(p), float(q), float(v))


def simulate_bgnbd(model: BgNbd, customers: int, age: float, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    """Draw (frequency, recency, age) for customers who follow ``model``; for tests and checks."""
    rates = rng.gamma(model.r, 1.0 / model.alpha, size=customers)
    dropout = rng.beta(model.a, model.b, size=customers)
    frequency = np.zeros(customers)
    recency = np.zeros(customers)
    for i in range(customers):
        clock = 0.0
        while True:
            clock += rng.exponential(1.0 / rates[i])
            if clock > age:
                break
            frequency[i] += 1
            recency[i] = clock
            if rng.random() < dropout[i]:
                break
    return frequency, recency, np.full(customers, age)


@dataclass(frozen=True, slots=True)
class PurchaseForecaster:
    """Point forecasts of purchase counts from a fitted BG/NBD.

    Two forecasts, for two uses: ``expected`` (the mean, what sums and revenue need, best for
    RMSE) and ``predict`` (the median of each customer's predictive distribution, the forecast
    that minimises absolute error; most customers' most likely future is "no purchase").
    """

    model: BgNbd

    @classmethod
    def fit(cls, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> PurchaseForecaster:
        return cls(fit_bgnbd(frequency, recency, age))

    def expected(self, horizon: float, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> Array:
        return self.model.expected_purchases(horizon, frequency, recency, age)

    def predict(self, horizon: float, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> Array:
        pmf = self.model.purchase_distribution(horizon, frequency, recency, age)
        below = np.cumsum(pmf, axis=1)
        return np.argmax(below >= 0.5, axis=1).astype(np.float64)

    def chance_of_purchase(self, horizon: float, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> Array:
        """P(at least one purchase within ``horizon``): the number journeys and segments act on."""
        return 1.0 - self.model.purchase_distribution(horizon, frequency, recency, age, most=1)[:, 0]


def expected_revenue(purchases: BgNbd, spend: GammaGamma, horizon: float, summary: PurchaseSummary) -> Array:
    """Customer value over ``horizon``: expected purchases times expected spend per purchase (undiscounted)."""
    count = purchases.expected_purchases(horizon, summary.frequency, summary.recency, summary.age)
    return count * spend.expected_spend(summary.frequency, summary.mean_spend)
