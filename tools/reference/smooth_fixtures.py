#!/usr/bin/python3
"""Fixtures for gaze's eigen-smooth (docs/smoothing.md), computed with numpy's SVD.

    /usr/bin/python3 tools/reference/smooth_fixtures.py tests/fixtures/smooth

Writes float32 .npy files (the inputs are float32; numpy computes in float64 from them):
  svd_<case>_x.npy            a matrix X [rows, columns]
  svd_<case>_numpy.npy        X_c @ VT[0] as numpy returns it (X_c: X with each column centred),
                              numpy's (LAPACK's) own sign
  svd_<case>_gaze.npy         the same with gaze's sign rule: the one making the projection's dot
                              product with X.sum(axis=1) (the plain map) non-negative
  eigen_a.npy, eigen_g.npy    activations and gradients [1, h, w, K] (NHWC as gaze)
  eigen_<method>.npy          pytorch-grad-cam's get_2d_projection of the method's terms
                              (gradcam: w_k A_k with w_k = mean_ij G; gradcampp; xgradcam;
                              hirescam: G*A; layercam: relu(G)*A), gaze's sign, [h, w], before ReLU
The cases: tall (more rows than columns), wide (fewer), close (top singular values 1 and 0.97),
weighted (columns of mixed signs), and tie (a zero plain map: the dot product is 0, and the entry of largest
magnitude is made positive). It prints, per case, whether numpy's sign agrees with gaze's rule.
"""
import os
import sys

import numpy as np


def projection(x):
    """pytorch-grad-cam's get_2d_projection for one (rows=cells) x (columns=channels) matrix."""
    xc = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(xc, full_matrices=True)
    return xc @ vt[0, :]


def gaze_sign(p, x):
    dot = np.dot(p, x.sum(axis=1))
    if abs(dot) <= 1e-9 * np.abs(p).sum() * np.abs(x.sum(axis=1)).sum():  # no correlation: tie
        return p if p[np.argmax(np.abs(p))] >= 0 else -p
    return p if dot > 0 else -p


def save(folder, name, a):
    np.save(os.path.join(folder, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(13)
    cases = {}
    cases["tall"] = rng.standard_normal((49, 16))
    cases["wide"] = rng.standard_normal((8, 40))
    # Singular values 1, 0.97, 0.3, ...: power iteration converges at the rate 0.97^2 per step.
    u, _ = np.linalg.qr(rng.standard_normal((30, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    cases["close"] = (u * np.array([1.0, 0.97, 0.3, 0.2, 0.1, 0.05])) @ v.T
    # Weighted activations: non-negative activations times weights of both signs.
    a = np.abs(rng.standard_normal((36, 10)))
    cases["weighted"] = a * np.array([1, -2, 3, -4, 5, -0.5, 0.1, -3, 2, -1])
    # The tie: the plain map X.sum(axis=1) is zero (the second half of the columns negates the
    # first), so the dot product is 0 and the largest entry decides.
    cases["tie"] = np.concatenate([a[:, :5], -a[:, :5]], axis=1) * np.array([1, 2, 3, 4, 5] * 2)
    for name, x in cases.items():
        x = x.astype(np.float32).astype(np.float64)
        p = projection(x)
        g = gaze_sign(p, x)
        save(folder, f"svd_{name}_x", x)
        save(folder, f"svd_{name}_numpy", p)
        save(folder, f"svd_{name}_gaze", g)
        print(f"{name}: numpy's sign {'agrees with' if np.allclose(p, g) else 'is opposite to'} gaze's rule")

    h, w, k = 4, 5, 6
    A = np.maximum(rng.standard_normal((1, h, w, k)), 0).astype(np.float32).astype(np.float64)
    G = (0.1 * rng.standard_normal((1, h, w, k))).astype(np.float32).astype(np.float64)
    save(folder, "eigen_a", A)
    save(folder, "eigen_g", G)
    a, g = A[0], G[0]
    grad = g.mean(axis=(0, 1))
    g2, g3 = g * g, g * g * g
    denom = 2 * g2 + a.sum(axis=(0, 1)) * g3
    alpha = np.where(denom != 0, g2 / np.where(denom != 0, denom, 1), 0)
    gradpp = (alpha * np.maximum(g, 0)).sum(axis=(0, 1))
    s = a.sum(axis=(0, 1))
    xgrad = np.where(s != 0, (a * g).sum(axis=(0, 1)) / np.where(s != 0, s, 1), 0)
    terms = {
        "gradcam": a * grad,
        "gradcampp": a * gradpp,
        "xgradcam": a * xgrad,
        "hirescam": a * g,
        "layercam": a * np.maximum(g, 0),
    }
    for name, t in terms.items():
        x = t.reshape(h * w, k)
        save(folder, f"eigen_{name}", gaze_sign(projection(x), x).reshape(h, w))


if __name__ == "__main__":
    main()
