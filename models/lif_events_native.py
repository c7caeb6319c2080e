"""Compiled inner loops of the closed-form LIF forward (models.lif_replay) and of the exact
spike-time gradient (learning_rules.spike_time_gradient), for the current-based LIF of models.lif.

Both loops visit, for every postsynaptic neuron j and sample b, only the inputs that spiked:

forward (Goeltz et al. 2021, Eqs. 10 and 12; times in tau_s, c = g_l (v_th - E_l)): sort the
arrivals t~_k = t_k + D_kj (bucket sort, then insertion sort: linear time for spread-out arrivals,
stable like numpy's argsort), then scan the prefixes k = 1, 2, ...

    tau_m = 2 tau_s:  A_s += w_k e^{t~_k},  A_m += w_k e^{t~_k/2},  T_k = 2 ln[2 A_s / (A_m + sqrt(A_m^2 - 4 A_s c))]
    tau_m = tau_s:    A += w_k e^{t~_k},    B += w_k t~_k e^{t~_k},  T_k = B/A - W0(-(c/A) e^{B/A})

and stop at the first T_k with t~_k < T_k <= t~_{k+1} and T_k < the trial duration;

backward (DelGrad, Goeltz et al. 2025): for x_k = T_j - t~_k > 0 the kernel k(x), k'(x) of models.lif,
V'_j = sum_k w_k k'(x_k), then with s = delta_j / V'_j (no gradient where V'_j <= min_slope)

    dL/dw_kj += -k(x_k) s,    dL/dd_kj += w_k k'(x_k) s,    dL/dt_k += w_k k'(x_k) s.

Same arithmetic as the numpy code, so results agree to rounding (tests/test_lif_events_native.py);
the numpy code stays the reference and the fallback. The Cython source is compiled once per
machine by Brian2's own Cython extension manager (its cache, its file lock), like every Brian2
runtime code object.

Backend: `set_backend("auto" | "cython" | "numpy")` or the environment variable
BRIAN2LEARN_EVENTS_BACKEND. "auto" (default) compiles on first use and falls back to numpy, with
one warning, where no compiler is found; "cython" raises instead.

Threads: `set_threads(n)` or $OMP_NUM_THREADS give every call n OpenMP threads. Unset, a call uses
every core only when it has at least PARALLEL_MIN_WORK (batch x postsynaptic neurons x active
inputs) and one thread below that (`threads_for`): a parallel region waits for its slowest thread,
and on a busy machine that is a descheduled one (benchmarks/threads.py measures both settings,
docs/results.md).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["set_backend", "set_threads", "threads", "threads_for", "PARALLEL_MIN_WORK", "native", "supports",
           "active_inputs", "first_spikes", "projection"]

CODE = r"""
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
from libc.math cimport exp, log, sqrt, INFINITY, isfinite
from libc.stdlib cimport malloc, free
from cython.parallel cimport prange, parallel, threadid

cdef inline void _insertion(double* a, double* w, int n) noexcept nogil:
    cdef int k, m
    cdef double x, y
    for k in range(1, n):
        x = a[k]
        y = w[k]
        m = k - 1
        while m >= 0 and a[m] > x:
            a[m + 1] = a[m]
            w[m + 1] = w[m]
            m -= 1
        a[m + 1] = x
        w[m + 1] = y

cdef inline int _bucket(double x, double lo, double inv, int nb) noexcept nogil:
    cdef int q = <int>((x - lo) * inv)
    if q >= nb:
        q = nb - 1
    return q

cdef inline double* _sorted(double* a, double* w, double* a2, double* w2, int* cnt, int n) noexcept nogil:
    # stable sort of (a, w) by a; returns the array that holds the sorted a (its w: the partner array)
    cdef int k, q
    cdef double lo, hi, inv
    if n <= 24:
        _insertion(a, w, n)
        return a
    lo = a[0]
    hi = a[0]
    for k in range(1, n):
        if a[k] < lo:
            lo = a[k]
        elif a[k] > hi:
            hi = a[k]
    if hi == lo:
        return a
    inv = n / (hi - lo)
    for k in range(n + 1):
        cnt[k] = 0
    for k in range(n):
        cnt[_bucket(a[k], lo, inv, n) + 1] += 1
    for k in range(1, n + 1):
        cnt[k] += cnt[k - 1]
    for k in range(n):
        q = _bucket(a[k], lo, inv, n)
        a2[cnt[q]] = a[k]
        w2[cnt[q]] = w[k]
        cnt[q] += 1
    _insertion(a2, w2, n)
    return a2

cdef double _EXP_M1 = exp(-1.0)

cdef inline double _lambertw0(double z) noexcept nogil:
    # principal branch W0(z) for -1/e <= z < 0 (Halley's iteration)
    cdef double p, w, ew, f, wp1, dw
    cdef int it
    p = 2.0 * (2.718281828459045 * z + 1.0)
    if p <= 0.0:
        return -1.0
    p = sqrt(p)
    if z < -0.25:
        w = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p * p * p
    else:
        w = z * (1.0 - z)
    for it in range(50):
        ew = exp(w)
        f = w * ew - z
        wp1 = w + 1.0
        if wp1 <= 1e-300:
            break
        dw = f / (ew * wp1 - (wp1 + 1.0) * f / (2.0 * wp1))
        w -= dw
        if dw < 0:
            dw = -dw
        if dw <= 1e-15 * (1.0 + (w if w > 0 else -w)):
            break
    return w

cdef inline double _scan(double* a, double* w, int n, double c, double t_max, int equal) noexcept nogil:
    cdef int k
    cdef double s1 = 0.0, s2 = 0.0, h, e, D, sq, T, nxt, ratio, arg
    for k in range(n):
        if equal:
            e = w[k] * exp(a[k])
            s1 += e
            s2 += e * a[k]
            if s1 <= 0:
                continue
            ratio = s2 / s1
            arg = -(c / s1) * exp(ratio)
            if arg < -_EXP_M1:
                continue
            T = ratio - _lambertw0(arg)
        else:
            h = exp(0.5 * a[k])
            s2 += w[k] * h
            s1 += w[k] * (h * h)
            D = s2 * s2 - 4.0 * s1 * c
            if D < 0 or s1 <= 0:
                continue
            sq = sqrt(D)
            if s2 + sq <= 0:
                continue
            T = 2.0 * log(2.0 * s1 / (s2 + sq))
        nxt = a[k + 1] if k + 1 < n else INFINITY
        if T > a[k] and T <= nxt and T < t_max:
            return T
    return INFINITY

def first_spikes(const double[:, ::1] t, const long long[:, ::1] idx, const long long[::1] counts,
                 const double[:, ::1] Dt, const double[:, ::1] Wt, double c, double t_max, int equal,
                 double[:, ::1] out, int n_threads):
    cdef Py_ssize_t B = t.shape[0], A = t.shape[1], n_post = Dt.shape[0]
    cdef Py_ssize_t b, j, k, i
    cdef int n
    cdef double* a
    cdef double* w
    cdef double* a2
    cdef double* w2
    cdef int* cnt
    cdef double* s
    cdef const double* drow
    cdef const double* wrow
    with nogil, parallel(num_threads=n_threads):
        a = <double*> malloc(4 * (A + 1) * sizeof(double))
        cnt = <int*> malloc((A + 2) * sizeof(int))
        w = a + (A + 1)
        a2 = w + (A + 1)
        w2 = a2 + (A + 1)
        for j in prange(n_post, schedule="static"):
            drow = &Dt[j, 0]
            wrow = &Wt[j, 0]
            for b in range(B):
                n = <int>counts[b]
                for k in range(n):
                    i = idx[b, k]
                    a[k] = t[b, k] + drow[i]
                    w[k] = wrow[i]
                s = _sorted(a, w, a2, w2, cnt, n)
                if s == a:
                    out[b, j] = _scan(a, w, n, c, t_max, equal)
                else:
                    out[b, j] = _scan(a2, w2, n, c, t_max, equal)
        free(a)
        free(cnt)

def projection(const double[:, ::1] t, const long long[:, ::1] idx, const long long[::1] counts,
               const double[:, ::1] T, const double[:, ::1] delta, const double[:, ::1] Dt,
               const double[:, ::1] Wt, double r, int equal, double min_slope,
               double[:, ::1] gWt, double[:, ::1] gDt, double[:, :, ::1] dta, int n_threads):
    # dta: one (B, A) slice per thread (summed by the caller): every thread owns its rows j of gWt, gDt
    cdef Py_ssize_t B = t.shape[0], A = t.shape[1], n_post = Dt.shape[0]
    cdef Py_ssize_t b, j, k, i
    cdef int n, tid
    cdef double Tj, d, x, e1, e2, slope, sc, v, cr = 0.0, invr = 1.0 / r
    cdef double* kb
    cdef double* kpb
    cdef const double* drow
    cdef const double* wrow
    cdef double* gw
    cdef double* gd
    cdef int two = (r == 2.0)
    if not equal:
        cr = 1.0 / (r - 1.0)
    with nogil, parallel(num_threads=n_threads):
        kb = <double*> malloc(2 * (A + 1) * sizeof(double))
        kpb = kb + (A + 1)
        tid = threadid()
        for j in prange(n_post, schedule="static"):
            drow = &Dt[j, 0]
            wrow = &Wt[j, 0]
            gw = &gWt[j, 0]
            gd = &gDt[j, 0]
            for b in range(B):
                d = delta[b, j]
                Tj = T[b, j]
                if d == 0 or not isfinite(Tj):
                    continue
                n = <int>counts[b]
                slope = 0.0
                for k in range(n):
                    i = idx[b, k]
                    x = Tj - (t[b, k] + drow[i])
                    if x > 0:
                        if equal:
                            e1 = exp(-x)
                            kb[k] = x * e1
                            kpb[k] = (1.0 - x) * e1
                        else:
                            e1 = exp(-x * invr)
                            e2 = e1 * e1 if two else exp(-x)
                            kb[k] = (e1 - e2) * cr
                            kpb[k] = (e2 - e1 * invr) * cr
                        slope = slope + wrow[i] * kpb[k]
                    else:
                        kb[k] = 0.0
                        kpb[k] = 0.0
                if not slope > min_slope:
                    continue
                sc = d / slope
                for k in range(n):
                    if kb[k] != 0.0 or kpb[k] != 0.0:
                        i = idx[b, k]
                        gw[i] += -kb[k] * sc
                        v = wrow[i] * kpb[k] * sc
                        gd[i] += v
                        dta[tid, b, k] += v
        free(kb)
"""

_BACKENDS = ("auto", "cython", "numpy")
_state = {"backend": os.environ.get("BRIAN2LEARN_EVENTS_BACKEND", "auto"), "module": None, "failed": None,
          "threads": None}


def set_backend(name):
    """'auto' (compiled where a compiler works, else numpy), 'cython' (compiled or an error), 'numpy'."""
    if name not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {name!r}")
    _state["backend"] = name


def set_threads(n):
    """OpenMP threads of the compiled loops: an int >= 1, or None for $OMP_NUM_THREADS (else every core)."""
    if n is not None and (int(n) != n or n < 1):
        raise ValueError(f"threads must be an integer >= 1 or None, got {n!r}")
    _state["threads"] = None if n is None else int(n)


def _chosen_threads():
    """set_threads's number, else $OMP_NUM_THREADS, else None (nobody chose)."""
    if _state["threads"] is not None:
        return _state["threads"]
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def threads():
    """The most threads a call of the compiled loops uses (see set_threads and threads_for)."""
    return _chosen_threads() or os.cpu_count() or 1


PARALLEL_MIN_WORK = 250_000   # ~8 ms of one thread's work here (~33 ns per (sample, neuron, input))


def threads_for(work):
    """Threads for one call with `work` = batch x postsynaptic neurons x active inputs: the chosen
    number where one was chosen (set_threads, $OMP_NUM_THREADS), else every core from
    PARALLEL_MIN_WORK on and one below it."""
    chosen = _chosen_threads()
    if chosen is not None:
        return chosen
    return (os.cpu_count() or 1) if work >= PARALLEL_MIN_WORK else 1


def _compile():
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager
    name = "brian2learn.lif_events_native"
    try:  # OpenMP where the compiler has it; the same loops run serially without
        return cython_extension_manager.create_extension(CODE, extra_compile_args=["-O3", "-w", "-fopenmp"],
                                                         extra_link_args=["-fopenmp"], owner_name=name)
    except Exception:
        return cython_extension_manager.create_extension(CODE, extra_compile_args=["-O3", "-w"], owner_name=name)


def native():
    """The compiled module, or None where the backend is 'numpy' (or 'auto' and compiling failed)."""
    backend = _state["backend"]
    if backend not in _BACKENDS:
        raise ValueError(f"BRIAN2LEARN_EVENTS_BACKEND must be one of {_BACKENDS}, got {backend!r}")
    if backend == "numpy":
        return None
    if _state["module"] is None and (_state["failed"] is None or backend == "cython"):
        try:
            _state["module"] = _compile()
        except Exception as err:  # no compiler, no Cython: numpy does the same work, slower
            _state["failed"] = err
            if backend == "cython":
                raise RuntimeError(f"compiling the LIF event loops failed ({err}); install a C++ compiler "
                                   "and Cython, or set_backend('numpy')") from err
            warnings.warn(f"brian2learn: compiled LIF event loops unavailable ({err}); using numpy", RuntimeWarning)
    return _state["module"]


def supports(model):
    """Whether the compiled loops compute this model's kernel: the LIF of models.lif, unchanged."""
    from .lif import LIF
    return (isinstance(model, LIF) and type(model).kernel_pair is LIF.kernel_pair
            and type(model).rheobase is LIF.rheobase)


def active_inputs(t_pre):
    """Per sample, the presynaptic inputs that spiked, first and in index order: (t (B, A) their times,
    inf past each sample's count; idx (B, A) int64; counts (B,) int64), A = the largest count (>= 1).
    Silent inputs never matter: the event loops here and in numpy (models.lif_replay,
    learning_rules.spike_time_gradient) visit only these."""
    t_pre = np.asarray(t_pre, dtype=float)
    fin = np.isfinite(t_pre)
    counts = fin.sum(axis=1).astype(np.int64)
    A = max(int(counts.max(initial=0)), 1)
    idx = np.ascontiguousarray(np.argsort(~fin, axis=1, kind="stable")[:, :A], dtype=np.int64)
    valid = np.arange(A)[None, :] < counts[:, None]
    return np.where(valid, np.take_along_axis(t_pre, idx, axis=1), np.inf), idx, counts


def first_spikes(model, t_pre, W, D, t_max):
    """First spike times (B, n_post) of a layer: input times t_pre (B, n_pre), weights W and total
    delays D (n_pre, n_post), all in tau_s units (inf = silent). None where not compiled."""
    mod = native()
    if mod is None:
        return None
    t, idx, counts = active_inputs(t_pre)
    out = np.empty((t.shape[0], W.shape[1]))
    mod.first_spikes(t, idx, counts, np.ascontiguousarray(D.T, dtype=float), np.ascontiguousarray(W.T, dtype=float),
                     float(model.rheobase), float(t_max), int(model.equal_time_constants), out,
                     threads_for(out.size * t.shape[1]))
    return out


def projection(model, t_pre, T_post, W, D, delta, min_slope):
    """dL/dW, dL/dD (n_pre, n_post) and dL/dt_pre (B, n_pre) of one projection (as
    SpikeTimeGradient._projection). None where not compiled."""
    mod = native()
    if mod is None:
        return None
    B, n_pre = t_pre.shape
    n_post = W.shape[1]
    t, idx, counts = active_inputs(t_pre)
    gWt, gDt = np.zeros((n_post, n_pre)), np.zeros((n_post, n_pre))
    n_threads = threads_for(B * n_post * t.shape[1])
    dta = np.zeros((n_threads,) + t.shape)
    equal = bool(model.equal_time_constants)
    mod.projection(t, idx, counts, np.ascontiguousarray(T_post, dtype=float), np.ascontiguousarray(delta, dtype=float),
                   np.ascontiguousarray(D.T, dtype=float), np.ascontiguousarray(W.T, dtype=float),
                   1.0 if equal else float(model.ratio), int(equal), float(min_slope), gWt, gDt, dta, n_threads)
    dL_dt = np.zeros((B, n_pre))
    dL_dt[np.arange(B)[:, None], idx] += np.where(np.isfinite(t), dta.sum(axis=0), 0.0)   # inf pads
    return np.ascontiguousarray(gWt.T), np.ascontiguousarray(gDt.T), dL_dt
