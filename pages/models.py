"""Models: placeholder until the secondary-pages work lands."""

import streamlit as st

st.title("Models")
st.info("This page is being built.", icon=":material/construction:")
