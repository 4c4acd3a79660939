//! The divergence rate of sampled traffic as an interval, not a point: a policy that allows
//! 1% divergence must not approve 0 divergent out of 20 requests on the point estimate alone.

use statrs::distribution::{ContinuousCDF, Normal};

/// The Wilson score interval's upper end for `k` successes in `n` trials at two-sided
/// `confidence` (e.g. 0.95, z = 1.96); 1.0 when there are no trials (nothing is known).
pub fn wilson_upper(k: u64, n: u64, confidence: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let z = z_score(confidence);
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre + spread) / (1.0 + z2 / n)).min(1.0)
}

/// The standard normal quantile of a two-sided `confidence`.
pub(crate) fn z_score(confidence: f64) -> f64 {
    let normal = Normal::new(0.0, 1.0).expect("the standard normal");
    normal.inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn known_counts_give_known_bounds() {
        assert!(close(z_score(0.95), 1.959964));
        assert!(close(z_score(0.99), 2.575829));
        // 0 of 100 at 95%: z² / (n + z²).
        assert!(close(wilson_upper(0, 100, 0.95), 0.036993));
        // 5 of 100 at 95%: the textbook interval is [0.0215, 0.1118].
        assert!(close(wilson_upper(5, 100, 0.95), 0.111750));
        // 1 of 1000 at 99%.
        assert!(close(wilson_upper(1, 1000, 0.99), 0.008461));
        assert_eq!(wilson_upper(0, 0, 0.95), 1.0);
        assert!(close(wilson_upper(10, 10, 0.95), 1.0));
        // More traffic, tighter bound, same point estimate.
        assert!(wilson_upper(10, 1000, 0.95) < wilson_upper(1, 100, 0.95));
    }
}
