//! The expansion of `#[agent]`: the function's body run as one agent invocation.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{FnArg, GenericArgument, ImplItemFn, LitStr, Pat, PathArguments, ReturnType, Type};

/// What the expansion needs to know.
pub(crate) struct Agent<'a> {
    pub(crate) func: &'a ImplItemFn,
    pub(crate) name: LitStr,
    pub(crate) id: Option<LitStr>,
    pub(crate) description: String,
}

pub(crate) fn expand(agent: &Agent<'_>) -> TokenStream {
    let func = agent.func;
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    let block = &func.block;
    let name = &agent.name;
    let id = match &agent.id {
        Some(id) => quote!(::core::option::Option::Some(#id)),
        None => quote!(::core::option::Option::None),
    };
    let description = LitStr::new(&agent.description, Span::call_site());
    let private = quote!(::mellea::__private);
    let ret = match &sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    };
    let ok_type = ok_type(&sig.output).map_or_else(|| quote!(_), |ty| quote!(#ty));
    // Plain-named arguments are captured (when `Serialize`) as the agent's input.
    let captured: Vec<_> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(pat) => Some(&pat.ident),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    let keys: Vec<_> = captured
        .iter()
        .map(|ident| LitStr::new(ident.to_string().trim_start_matches("r#"), ident.span()))
        .collect();
    quote! {
        #(#attrs)*
        #vis #sig {
            #[allow(unused_imports)]
            use #private::{CaptureJson as _, CaptureNone as _};
            static __MELLEA_AGENT: #private::AgentMeta = #private::AgentMeta {
                name: #name,
                id: #id,
                description: #description,
            };
            let __mellea_input = if #private::agent_listening() {
                let mut __mellea_args = #private::serde_json::Map::new();
                #(
                    if let ::core::option::Option::Some(__mellea_value) =
                        (&#private::Capture(&#captured)).capture_json()
                    {
                        __mellea_args.insert(::std::string::String::from(#keys), __mellea_value);
                    }
                )*
                ::core::option::Option::Some(#private::serde_json::Value::Object(__mellea_args))
            } else {
                ::core::option::Option::None
            };
            #private::invoke_agent(
                &__MELLEA_AGENT,
                __mellea_input,
                #private::tool_body::<#ret, _>(async move #block),
                |__mellea_output: &#ok_type| (&#private::Capture(__mellea_output)).capture_json(),
            )
            .await
        }
    }
}

/// `T` of a `Result<T, E>` output.
fn ok_type(output: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}
