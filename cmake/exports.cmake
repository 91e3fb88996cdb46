# exports.cmake - the shared library exports exactly the functions declared in
# the public headers.  The version script is generated from the headers at
# configure time, so a new public function is exported without a second list
# to keep in sync, and the library's internal helpers (eds_fail, eds_read_file,
# ...) stay private even though they share the eds_ prefix.
file(GLOB _eds_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/edgesentry/*.h)
set(_eds_symbols "")
foreach(_h ${_eds_public_headers})
  # Whole-text matching: file(STRINGS) would split lines at ';' and merge
  # them at unbalanced '[', which array parameters have.  A declaration line
  # starts with its (lowercase) return type; comment lines start with ' *'.
  file(READ ${_h} _text)
  string(REGEX MATCHALL "\n[a-z][^\n(]*[ *]eds_[a-z0-9_]+\\(" _decls "${_text}")
  foreach(_d IN LISTS _decls)
    if(_d MATCHES "^\ntypedef")
      continue()
    endif()
    string(REGEX MATCH "eds_[a-z0-9_]+\\($" _name "${_d}")
    string(REPLACE "(" "" _name "${_name}")
    list(APPEND _eds_symbols ${_name})
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
