/*
 * demo_rng: the demo's random numbers (demo_int.h): splitmix64 streams,
 * one per part of the organisation, so that what one part draws never
 * shifts another's.
 */
#include "demo_int.h"

uint64_t demo_next(struct demo_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stream of its own for (stream, n), so that what one part of the demo
 * draws never shifts another part's numbers. */
void demo_fork(struct demo_rng *out, uint64_t seed, uint64_t stream, uint64_t n)
{
    struct demo_rng m = {seed};

    m.s = demo_next(&m) ^ (stream * 0xd1b54a32d192ed03ULL);
    m.s = demo_next(&m) ^ (n * 0xaef17502108ef2d9ULL);
    out->s = demo_next(&m);
}

/* Uniform in [0, 1). */
double demo_unit(struct demo_rng *r)
{
    return (double)(demo_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in 0..n-1 (n >= 1). */
uint32_t demo_below(struct demo_rng *r, uint32_t n)
{
    return (uint32_t)(((demo_next(r) >> 32) * (uint64_t)n) >> 32);
}

double demo_range(struct demo_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * demo_unit(r);
}

/* About normal with mean 0 and deviation 1 (a scaled sum of four uniforms:
 * close enough for a demo, and no libm). */
double demo_gauss(struct demo_rng *r)
{
    double s = demo_unit(r) + demo_unit(r) + demo_unit(r) + demo_unit(r);

    return (s - 2.0) * 1.7320508075688772;
}

int demo_chance(struct demo_rng *r, double p)
{
    return demo_unit(r) < p;
}

double demo_clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* A random version-4 UUID from the stream. */
void demo_uuid(struct demo_rng *r, uint8_t out[16])
{
    uint64_t a = demo_next(r);
    uint64_t b = demo_next(r);

    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}
