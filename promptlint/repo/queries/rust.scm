; Definitions
(struct_item name: (type_identifier) @name.definition.struct)
(enum_item name: (type_identifier) @name.definition.enum)
(union_item name: (type_identifier) @name.definition.struct)
(trait_item name: (type_identifier) @name.definition.trait)
(type_item name: (type_identifier) @name.definition.type)
(function_item name: (identifier) @name.definition.function)
(function_signature_item name: (identifier) @name.definition.method)
(mod_item name: (identifier) @name.definition.module)
(const_item name: (identifier) @name.definition.constant)
(static_item name: (identifier) @name.definition.constant)
(macro_definition name: (identifier) @name.definition.macro)
(enum_variant name: (identifier) @name.definition.variant)
; References
(impl_item trait: (type_identifier) @name.reference.trait)
(impl_item type: (type_identifier) @name.reference.impl)
(call_expression function: (identifier) @name.reference.call)
(call_expression function: (field_expression field: (field_identifier) @name.reference.call))
(field_expression field: (field_identifier) @name.reference.field)
(call_expression function: (scoped_identifier name: (identifier) @name.reference.call))
(scoped_identifier path: (identifier) @name.reference.name)
(type_identifier) @name.reference.type
(macro_invocation macro: (identifier) @name.reference.macro)
; Imports: `use crate::a::b;` and `mod a;`
(use_declaration argument: (_) @import)
(mod_item name: (identifier) @import.mod)
; Doc comments
(line_comment) @doc
