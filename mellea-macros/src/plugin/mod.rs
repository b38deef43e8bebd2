//! `#[plugin]` on an inherent impl block: consumes the `#[hook]` attributes of its methods and
//! implements `Plugin` for the type.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::errors::Errors;
use parse::NotAnImpl;

/// Expands `#[plugin(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::new();
    let plugin_args = parse::parse_plugin_args(args, &mut errors);
    let block = match parse::parse_impl(item.clone()) {
        Ok(block) => block,
        Err(NotAnImpl::Item { kind, span }) => {
            errors.spanned(
                span,
                format!(
                    "`#[plugin]` goes on an inherent impl block of the plugin type, not on a {kind}: `#[plugin(name = \"...\")] impl MyPlugin {{ ... }}`"
                ),
            );
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
        Err(NotAnImpl::Broken(error)) => {
            errors.push(error);
            let errors = errors.to_compile_errors();
            return quote!(#item #errors);
        }
    };

    let user_impl = expand::user_impl(&block);
    let plugin_impl = validate::check_inherent(&block, &mut errors).then(|| {
        let handlers = validate::collect_handlers(&block, &mut errors);
        expand::plugin_impl(&block, &plugin_args, &handlers)
    });
    let errors = errors.to_compile_errors();
    quote! {
        #user_impl
        #plugin_impl
        #errors
    }
}
