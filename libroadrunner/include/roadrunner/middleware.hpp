#pragma once

// Handlers, middlewares and their composition into one callable.
//
// The three aliases below are also declared (identically) in options.hpp; a
// repeated alias declaration naming the same type is allowed, so this header
// does not need options.hpp and options.hpp may include router.hpp later.

#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>

#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace roadrunner {

/// A plain-callable handler: runs inline on the connection's reactor thread,
/// so it must not block or compute for long. An exception thrown from it
/// becomes a 500 response and the connection stays usable.
using handler = std::function<response(request&)>;

/// Continuation passed to a middleware: calls the rest of the pipeline.
using next_fn = std::function<response(request&)>;

/// A middleware, continuation style: it may pass the request on (`next(req)`),
/// short-circuit (answer without calling `next`), or wrap the response `next`
/// returns. Runs on the connection's reactor thread, possibly on several
/// threads at once for different requests: shared mutable state needs its
/// own synchronization.
using middleware = std::function<response(request&, const next_fn&)>;

/// One middleware instance shared by every pipeline it is composed into.
using shared_middleware = std::shared_ptr<const middleware>;

/// Composes `layers` around `inner` into one callable: `layers[0]` is the
/// outermost (it runs first and sees the final response last), `inner` runs
/// last. Each layer is held by its shared_ptr, never copied. Composition
/// happens once; calling the result allocates nothing beyond what the
/// middlewares and the handler themselves allocate. Null or empty layers are
/// skipped; with no layers the result is `inner` itself.
handler compose_shared(std::span<const shared_middleware> layers,
                       handler inner);

/// Like `compose_shared`, after wrapping each middleware in its own
/// shared_ptr.
handler compose(std::vector<middleware> layers, handler inner);

} // namespace roadrunner
