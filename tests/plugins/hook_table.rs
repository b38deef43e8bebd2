//! The hook names `#[hook("...")]` accepts are exactly the runtime's hook types.
//!
//! The macro crate keeps its own copy of the hook table (a proc-macro crate cannot read the
//! runtime's); `__hook_table!()` expands it. Expanding it also proves at compile time that each
//! row's payload and patch types are its marker's `Hook::Payload` and `Hook::Patch`.

use mellea::hooks::HookType;

#[test]
fn macro_hook_table_lists_every_runtime_hook_type_in_order() {
    let table = mellea::__hook_table!();
    let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    let runtime: Vec<&str> = HookType::ALL.iter().map(|hook| hook.as_str()).collect();
    assert_eq!(names, runtime);
}

#[test]
fn each_macro_hook_name_maps_to_the_marker_of_that_name() {
    for (name, hook) in mellea::__hook_table!() {
        assert_eq!(hook.as_str(), name);
        assert_eq!(name.parse::<HookType>(), Ok(hook));
    }
}
