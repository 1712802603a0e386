#include "render_html.h"
