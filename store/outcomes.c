#include "outcomes.h"
