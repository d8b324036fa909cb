; Definitions
(class_declaration name: (identifier) @name.definition.class)
(interface_declaration name: (identifier) @name.definition.interface)
(enum_declaration name: (identifier) @name.definition.enum)
(record_declaration name: (identifier) @name.definition.class)
(annotation_type_declaration name: (identifier) @name.definition.interface)
(method_declaration name: (identifier) @name.definition.method)
; References
(method_invocation name: (identifier) @name.reference.call)
(field_access field: (identifier) @name.reference.field)
(object_creation_expression type: (type_identifier) @name.reference.class)
(type_identifier) @name.reference.type
; Imports
(import_declaration (scoped_identifier) @import)
; Routes: @GetMapping("/x"), @RequestMapping(value = "/x")
(annotation name: (identifier) @route.method arguments: (annotation_argument_list (string_literal) @route.path))
(annotation name: (identifier) @route.method arguments: (annotation_argument_list (element_value_pair value: (string_literal) @route.path)))
; Doc comments
(block_comment) @doc
