# One INTERFACE target that every roadrunner target links PRIVATE: warnings
# (errors with ROADRUNNER_WERROR, which CI sets) and the optional sanitizers
# (ROADRUNNER_SANITIZERS). -Werror is never on by default: a new compiler or a
# distribution's flags must not break a user's build.
add_library(roadrunner_internal INTERFACE)
target_compile_options(roadrunner_internal INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast)
if(ROADRUNNER_WERROR)
  target_compile_options(roadrunner_internal INTERFACE -Werror)
endif()
if(ROADRUNNER_SANITIZERS)
  string(REPLACE "," ";" _san_list "${ROADRUNNER_SANITIZERS}")
  set(_san_flags "")
  foreach(_s IN LISTS _san_list)
    list(APPEND _san_flags "-fsanitize=${_s}")
  endforeach()
  # Sanitizers must reach every object and the final link, including the
  # library targets, so they go global rather than on the interface target.
  add_compile_options(${_san_flags} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(${_san_flags})
  if("undefined" IN_LIST _san_list)
    # CAF 0.17's intrusive mailbox queues downcast their sentinel node to
    # mailbox_element (task_queue::promote); any of our code that instantiates
    # them (hosted_actor::cleanup closes the mailbox) trips UBSan's vptr
    # check on CAF's own header code. Every other UB check stays on.
    add_compile_options(-fno-sanitize=vptr)
  endif()
endif()
