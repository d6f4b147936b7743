"""RL lab: placeholder until the secondary-pages work lands."""

import streamlit as st

st.title("RL lab")
st.info("This page is being built.", icon=":material/construction:")
