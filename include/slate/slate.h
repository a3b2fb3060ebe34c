/* slate/slate.h: the whole SDK. Apps include this and define SLATE_TARGET_API. */
#pragma once

#include <slate/api.h>
#include <slate/app.h>
#include <slate/fetch.h>
#include <slate/log.h>
#include <slate/platform.h>
#include <slate/settings.h>
#include <slate/ui.h>
