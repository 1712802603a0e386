#include "dashfmt.h"
