# exports.cmake - the shared library exports exactly the functions declared in
# the public headers.  The version script is generated from the headers at
# configure time, so a new public function is exported without a second list
# to keep in sync, and the library's internal helpers (eds_fail, eds_read_file,
# ...) stay private even though they share the eds_ prefix.
file(GLOB _eds_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/edgesentry/*.h)
set(_eds_symbols "")
foreach(_h ${_eds_public_headers})
  file(STRINGS ${_h} _lines)
  foreach(_line IN LISTS _lines)
    # Declarations only: skip comment lines, macros and typedefs.
    if(_line MATCHES "^[ \t]*(/\\*|\\*|//|#|typedef)")
      continue()
    endif()
    if(_line MATCHES "[ *](eds_[a-z0-9_]+)\\(")
      list(APPEND _eds_symbols ${CMAKE_MATCH_1})
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES _eds_symbols)
list(SORT _eds_symbols)
set(_map "EDGESENTRY_0 {\n  global:\n")
foreach(_s ${_eds_symbols})
  string(APPEND _map "    ${_s};\n")
endforeach()
string(APPEND _map "  local:\n    *;\n};\n")
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/edgesentry.map CONTENT "${_map}")
set_property(TARGET edgesentry APPEND PROPERTY LINK_DEPENDS ${PROJECT_BINARY_DIR}/edgesentry.map)
target_link_options(edgesentry PRIVATE "-Wl,--version-script=${PROJECT_BINARY_DIR}/edgesentry.map")
