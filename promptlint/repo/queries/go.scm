; Definitions
(function_declaration name: (identifier) @name.definition.function)
(method_declaration name: (field_identifier) @name.definition.method)
(type_spec name: (type_identifier) @name.definition.type)
(const_spec name: (identifier) @name.definition.constant)
(source_file (var_declaration (var_spec name: (identifier) @name.definition.constant)))
; References
(call_expression function: (identifier) @name.reference.call)
(call_expression function: (selector_expression field: (field_identifier) @name.reference.call))
(selector_expression field: (field_identifier) @name.reference.field)
(type_identifier) @name.reference.type
; Imports
(import_spec path: (interpreted_string_literal) @import)
; Routes: r.GET("/x", h), http.HandleFunc("/x", h), mux.Handle("/x", h)
(call_expression function: (selector_expression field: (field_identifier) @route.method) arguments: (argument_list . (interpreted_string_literal) @route.path))
; Doc comments
(comment) @doc
