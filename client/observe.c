/* observe: placeholder until the module is written. */
#include "observe.h"
