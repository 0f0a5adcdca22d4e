"""Reference values for gan_lab's interval tests (gan_lab/src/run/interval.rs).

Student's t quantiles (scipy.stats.t.ppf, non-integer degrees of freedom included) and Welch's
95 % / 90 % confidence intervals for a difference of means (scipy.stats.ttest_ind with
equal_var=False, .confidence_interval), on fixed arrays.   Run: python3 reference/intervals.py
"""
import numpy as np
from scipy import stats

QUANTILES = [(0.975, 1.0), (0.975, 2.0), (0.975, 2.5), (0.975, 4.0), (0.95, 3.7), (0.975, 30.0), (0.995, 7.25), (0.6, 1.5), (0.975, 1e6)]

# FLD of three and five seeds, as a sweep's runs would give them.
A = [935.2, 861.0, 1009.4]
B = [1536.0, 1431.7, 1640.2, 1588.9, 1480.3]
C = [851.0, 820.5, 881.9, 859.3]
PAIRS = [("b", B, "c", C, 0.95), ("a", A, "b", B, 0.95), ("c", C, "a", A, 0.95), ("b", B, "c", C, 0.90), ("a", A, "c", C, 0.95)]

if __name__ == "__main__":
    print("// t quantiles: (p, df, scipy.stats.t.ppf(p, df))")
    for p, df in QUANTILES:
        print(f"({p}, {df!r}, {float(stats.t.ppf(p, df))!r}),")
    print("// Welch: (x, y, level, mean(x) - mean(y), low, high, df)")
    for nx, x, ny, y, level in PAIRS:
        r = stats.ttest_ind(x, y, equal_var=False)
        ci = r.confidence_interval(level)
        print(f"({nx}, {ny}, {level}, {float(np.mean(x) - np.mean(y))!r}, {float(ci.low)!r}, {float(ci.high)!r}, {float(r.df)!r}),")
