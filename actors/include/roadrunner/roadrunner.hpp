#pragma once

/// Everything a user of roadrunner needs: options, request, response,
/// the reactor module and the listener.
#include <roadrunner/errors.hpp>
#include <roadrunner/handler_actor.hpp>
#include <roadrunner/listener.hpp>
#include <roadrunner/module.hpp>
#include <roadrunner/options.hpp>
#include <roadrunner/owned_request.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/responder.hpp>
#include <roadrunner/response.hpp>
#include <roadrunner/sse.hpp>
#include <roadrunner/stats.hpp>
