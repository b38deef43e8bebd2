//! The expansion of `#[tool]`: the function itself (firing the tool hooks), its definition
//! (`<fn>_tool()`) and the runner of a model's call (`call_<fn>(&call)`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{FnArg, ImplItemFn, LitStr};

use super::validate::ToolParam;

/// What the expansion needs to know.
pub(crate) struct Tool<'a> {
    pub(crate) func: &'a ImplItemFn,
    pub(crate) name: LitStr,
    pub(crate) description: String,
    pub(crate) params: Vec<ToolParam>,
}

pub(crate) fn expand(tool: &Tool<'_>) -> TokenStream {
    let func = tool.func;
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    let fn_name = &sig.ident;
    let plain = fn_name.to_string();
    let plain = plain.trim_start_matches("r#");
    let inner = format_ident!("__mellea_tool_{}", plain);
    let definition = format_ident!("{}_tool", plain, span = fn_name.span());
    let caller = format_ident!("call_{}", plain, span = fn_name.span());
    let receiver = sig.inputs.iter().find_map(|input| match input {
        FnArg::Receiver(receiver) => Some(receiver),
        FnArg::Typed(_) => None,
    });
    let output = &sig.output;
    let ret = match output {
        syn::ReturnType::Type(_, ty) => quote!(#ty),
        syn::ReturnType::Default => quote!(()),
    };
    let name = &tool.name;
    let description = LitStr::new(&tool.description, Span::call_site());
    let idents: Vec<_> = tool.params.iter().map(|p| &p.ident).collect();
    let pats: Vec<_> = tool.params.iter().map(|p| &p.pat).collect();
    let tys: Vec<_> = tool.params.iter().map(|p| &p.ty).collect();
    let typed: Vec<_> = tool
        .params
        .iter()
        .map(|p| {
            let (pat, ty) = (&p.pat, &p.ty);
            quote!(#pat: #ty)
        })
        .collect();
    let block = &func.block;
    let (self_arg, call_inner) = match receiver {
        Some(receiver) => (quote!(#receiver,), quote!(self.#inner)),
        None => (quote!(), quote!(#inner)),
    };
    let private = quote!(::mellea::__private);
    let serde_crate = LitStr::new("::mellea::__private::serde", Span::call_site());
    let schemars_crate = LitStr::new("::mellea::__private::schemars", Span::call_site());
    // Field types keep the user's spans, so a type that is not serde points at the argument.
    let fields: Vec<_> = idents
        .iter()
        .zip(&tys)
        .map(|(ident, ty)| quote_spanned!(syn::spanned::Spanned::span(ty)=> #ident: #ty))
        .collect();
    let meta = quote! {
        static __MELLEA_TOOL: #private::ToolMeta = #private::ToolMeta {
            name: #name,
            description: #description,
        };
    };
    let definition_doc = format!(
        "The definition of tool `{}` (name, description, JSON schema of its arguments), to offer to the model.",
        name.value()
    );
    let caller_doc = format!(
        "Runs the model's call of tool `{}`: reads the arguments from the call, runs `{plain}` (firing the tool hooks with the call's id) and returns the `tool` message answering the call.",
        name.value()
    );
    quote! {
        #(#attrs)*
        #vis #sig {
            #call_inner(::core::option::Option::None, #(#idents),*).await
        }

        #[doc(hidden)]
        #[allow(non_snake_case, non_shorthand_field_patterns, clippy::too_many_arguments)]
        async fn #inner(
            #self_arg
            __mellea_call_id: ::core::option::Option<::std::string::String>,
            #(#typed),*
        ) #output {
            #[derive(#private::serde::Serialize, #private::serde::Deserialize)]
            #[serde(crate = #serde_crate)]
            struct __MelleaArgs { #(#fields),* }
            #meta
            #private::invoke_tool(
                &__MELLEA_TOOL,
                __mellea_call_id,
                __MelleaArgs { #(#idents),* },
                move |__MelleaArgs { #(#pats),* }| {
                    #private::tool_body::<#ret, _>(async move #block)
                },
            )
            .await
        }

        #[doc = #definition_doc]
        #[allow(dead_code, non_shorthand_field_patterns)]
        #vis fn #definition() -> ::mellea::tools::ToolDefinition {
            #[derive(#private::schemars::JsonSchema)]
            #[schemars(crate = #schemars_crate)]
            #[allow(dead_code)]
            struct __MelleaArgs { #(#fields),* }
            ::mellea::tools::ToolDefinition::new(
                #name,
                #description,
                #private::tool_parameters::<__MelleaArgs>(),
            )
        }

        #[doc = #caller_doc]
        #[allow(dead_code, non_shorthand_field_patterns)]
        #vis async fn #caller(
            #self_arg
            __mellea_call: &::mellea::tools::ToolCall,
        ) -> ::core::result::Result<::mellea::hooks::Message, ::mellea::tools::ToolError> {
            #[derive(#private::serde::Deserialize)]
            #[serde(crate = #serde_crate)]
            struct __MelleaArgs { #(#fields),* }
            #meta
            let __MelleaArgs { #(#idents),* } =
                #private::parse_arguments::<__MelleaArgs>(&__MELLEA_TOOL, __mellea_call)?;
            let __mellea_result = #call_inner(__mellea_call.id.clone(), #(#idents),*).await;
            #private::result_message(&__MELLEA_TOOL, __mellea_call, __mellea_result)
        }
    }
}

/// The function as written, for when the attribute has errors: the errors then stand alone.
pub(crate) fn fallback(func: &ImplItemFn) -> TokenStream {
    quote!(#func)
}
