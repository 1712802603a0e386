/* localstore: placeholder until the module is written. */
#include "localstore.h"
