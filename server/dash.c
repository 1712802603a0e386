#include "dash.h"

/* Placeholder: replaced by the dashboards' model. */
void dash_opts_default(struct dash_opts *o)
{
    o->min_n = 3;
    o->privacy_min = 5;
    o->trend_weeks = 12;
    o->heat_weeks = 8;
}
