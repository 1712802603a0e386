/*
 * grow: room for one more element in a heap array that doubles.
 *
 * The arrays the store and the dashboards collect into (ids, managers,
 * observers, rows) grow the same way: nothing until the first element, then
 * a first capacity, then twice the last. grow_array() is that step, with the
 * multiplication checked for overflow, so each caller keeps only its own
 * limits. Not thread-safe; the array is its caller's.
 */
#ifndef COACHQ_GROW_H
#define COACHQ_GROW_H

#include <stddef.h>

/*
 * Makes room for need elements of elem bytes each in the array *arrp (arrp
 * is the address of the caller's pointer to the array, of any object type;
 * NULL while it is empty) whose capacity is *cap elements. When need >
 * *cap, reallocates it to the larger of first (when *cap is 0) or twice
 * *cap, and need, and sets *cap. Returns 0, -EOVERFLOW when that many bytes
 * do not fit in a size_t, -EINVAL when elem is 0, or -ENOMEM; on failure
 * *arrp and *cap are unchanged (the array stays the caller's to free).
 */
int grow_array(void *arrp, size_t *cap, size_t need, size_t elem, size_t first);

/* grow_array() for an array arr (an lvalue of pointer type) with capacity
 * cap (an lvalue of type size_t), its elements' size taken from arr; when
 * need fits, 0 without a call. need and cap are evaluated twice: they must
 * have no side effects. */
#define GROW_ARRAY(arr, cap, need, first)                                                          \
    ((need) <= (cap) ? 0 : grow_array(&(arr), &(cap), (need), sizeof(*(arr)), (first)))

#endif
