#include "websess.h"
