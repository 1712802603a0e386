#include "dash.h"
