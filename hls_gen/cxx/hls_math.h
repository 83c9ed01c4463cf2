// srcost's stand-in for Xilinx's hls_math.h, used ONLY for bit-accurate C simulation with g++
// (hls_gen/csim.py). It is never used for synthesis: Vivado/Vitis HLS use their own hls_math.h.
//
// Every function computes the real function in double precision and converts the result to the
// argument's fixed-point type with one deterministic rule:
//     NaN -> 0;  otherwise saturate to the type's range, then quantize with the type's own rounding
//     mode (AP_TRN for the default ap_fixed<W,I>: toward minus infinity).
// That rule is what makes hls4ml's nnet::lookup_table samples deterministic without Xilinx tools;
// srcost's open backend samples its tables with the same rule. Xilinx's hls:: math library
// (CORDIC, polynomial approximations) differs from this shim by up to about one LSB, so C
// simulation of a NON-lookup-table math function through this shim is an approximation of the
// synthesized hardware, not bit-accurate.
#ifndef X_HLS_MATH_H
#define X_HLS_MATH_H

#include <cmath>
#include "ap_fixed.h"

#define SRCOST_HLS_MATH_SHIM 1

namespace hls {
namespace srcost_shim {

template <class E> inline double as_double(const E &e) { return (double)e; }

// NaN -> 0; clamp far outside the range (so +-inf become finite) and let AP_SAT saturate exactly.
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
inline ap_fixed<W, I, Q, O, N> to_fixed(double v) {
    if (std::isnan(v)) return ap_fixed<W, I, Q, O, N>(0);
    const double big = std::ldexp(1.0, I + 1);
    if (v > big) v = big;
    if (v < -big) v = -big;
    ap_fixed<W, I, Q, AP_SAT, N> s(v);
    return ap_fixed<W, I, Q, O, N>(s);
}

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
inline ap_ufixed<W, I, Q, O, N> to_ufixed(double v) {
    if (std::isnan(v)) return ap_ufixed<W, I, Q, O, N>(0);
    const double big = std::ldexp(1.0, I + 1);
    if (v > big) v = big;
    if (v < -big) v = -big;
    ap_ufixed<W, I, Q, AP_SAT, N> s(v);
    return ap_ufixed<W, I, Q, O, N>(s);
}

inline double recip(double x) { return 1.0 / x; }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline double abs(double x) { return std::fabs(x); }

} // namespace srcost_shim

#define SRCOST_SHIM_UNARY(NAME, EXPR)                                                                                   \
    template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>                                                           \
    ap_fixed<W, I, Q, O, N> NAME(ap_fixed<W, I, Q, O, N> x) {                                                          \
        const double v = x.to_double();                                                                                \
        return srcost_shim::to_fixed<W, I, Q, O, N>(EXPR);                                                             \
    }                                                                                                                  \
    template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>                                                           \
    ap_ufixed<W, I, Q, O, N> NAME(ap_ufixed<W, I, Q, O, N> x) {                                                        \
        const double v = x.to_double();                                                                                \
        return srcost_shim::to_ufixed<W, I, Q, O, N>(EXPR);                                                            \
    }

SRCOST_SHIM_UNARY(sin, std::sin(v))
SRCOST_SHIM_UNARY(cos, std::cos(v))
SRCOST_SHIM_UNARY(tan, std::tan(v))
SRCOST_SHIM_UNARY(asin, std::asin(v))
SRCOST_SHIM_UNARY(acos, std::acos(v))
SRCOST_SHIM_UNARY(atan, std::atan(v))
SRCOST_SHIM_UNARY(sinh, std::sinh(v))
SRCOST_SHIM_UNARY(cosh, std::cosh(v))
SRCOST_SHIM_UNARY(tanh, std::tanh(v))
SRCOST_SHIM_UNARY(asinh, std::asinh(v))
SRCOST_SHIM_UNARY(acosh, std::acosh(v))
SRCOST_SHIM_UNARY(atanh, std::atanh(v))
SRCOST_SHIM_UNARY(exp, std::exp(v))
SRCOST_SHIM_UNARY(exp2, std::exp2(v))
SRCOST_SHIM_UNARY(expm1, std::expm1(v))
SRCOST_SHIM_UNARY(log, std::log(v))
SRCOST_SHIM_UNARY(log2, std::log2(v))
SRCOST_SHIM_UNARY(log10, std::log10(v))
SRCOST_SHIM_UNARY(log1p, std::log1p(v))
SRCOST_SHIM_UNARY(sqrt, std::sqrt(v))
SRCOST_SHIM_UNARY(rsqrt, srcost_shim::rsqrt(v))
SRCOST_SHIM_UNARY(cbrt, std::cbrt(v))
SRCOST_SHIM_UNARY(recip, srcost_shim::recip(v))
SRCOST_SHIM_UNARY(abs, srcost_shim::abs(v))
SRCOST_SHIM_UNARY(fabs, srcost_shim::abs(v))
SRCOST_SHIM_UNARY(erf, std::erf(v))
SRCOST_SHIM_UNARY(erfc, std::erfc(v))
SRCOST_SHIM_UNARY(floor, std::floor(v))
SRCOST_SHIM_UNARY(ceil, std::ceil(v))

#undef SRCOST_SHIM_UNARY

#define SRCOST_SHIM_BINARY(NAME, EXPR)                                                                                  \
    template <int W, int I, ap_q_mode Q, ap_o_mode O, int N, class E>                                                  \
    ap_fixed<W, I, Q, O, N> NAME(ap_fixed<W, I, Q, O, N> x, const E &e) {                                              \
        const double v = x.to_double(), u = srcost_shim::as_double(e);                                                 \
        return srcost_shim::to_fixed<W, I, Q, O, N>(EXPR);                                                             \
    }                                                                                                                  \
    template <int W, int I, ap_q_mode Q, ap_o_mode O, int N, class E>                                                  \
    ap_ufixed<W, I, Q, O, N> NAME(ap_ufixed<W, I, Q, O, N> x, const E &e) {                                            \
        const double v = x.to_double(), u = srcost_shim::as_double(e);                                                 \
        return srcost_shim::to_ufixed<W, I, Q, O, N>(EXPR);                                                            \
    }

SRCOST_SHIM_BINARY(pow, std::pow(v, u))
SRCOST_SHIM_BINARY(atan2, std::atan2(v, u))
SRCOST_SHIM_BINARY(hypot, std::hypot(v, u))
SRCOST_SHIM_BINARY(fmod, std::fmod(v, u))

#undef SRCOST_SHIM_BINARY

} // namespace hls

#endif
