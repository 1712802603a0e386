/* outbox: placeholder until the module is written. */
#include "outbox.h"
